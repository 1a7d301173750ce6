// The admin dashboard, driven as an admin and as the users they manage. scripts/test.sh creates
// the admin with `coffer create-admin` before the server starts and passes its credentials in.
import { expect, Page, test } from "@playwright/test";
import { readFile } from "node:fs/promises";

import { admin, adminPage, dropFile, password, row, signUp, uniqueUser, watchProblems } from "./helpers";

/** The admin's users table, searched for this username; returns the user's row. */
async function findUser(page: Page, username: string) {
  await page.goto("/admin/users");
  await page.waitForLoadState("networkidle");
  await page.getByTestId("user-search").fill(username);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`q=${username}`));
  const userRow = page.getByTestId("user-row").filter({ hasText: username });
  await expect(page.getByTestId("user-row")).toHaveCount(1);
  await expect(userRow).toBeVisible();
  return userRow;
}

test("an admin finds a user and disables them; the user's open browser is signed out on its next click", async ({ page, browser }) => {
  const user = await signUp(page, "d");
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  await expect(page.getByTestId("whoami")).toContainText(user.username);

  const adminTab = await adminPage(browser);
  const problems = watchProblems(adminTab);
  await adminTab.getByTestId("admin-link").click();
  await expect(adminTab).toHaveURL(/\/admin$/);
  await expect(adminTab.getByTestId("transfer-chart")).toBeVisible();
  const userRow = await findUser(adminTab, user.username);
  await expect(userRow.getByTestId("user-status")).toHaveText("active");
  await userRow.getByText("Manage…").click();
  // Disabling asks first.
  await expect(userRow.getByTestId("disable")).toBeHidden();
  await userRow.getByText("Disable…").click();
  await userRow.getByTestId("disable").click();
  await expect(userRow.getByTestId("user-status")).toHaveText("disabled");
  expect(problems, "no hydration or script errors on the admin pages").toEqual([]);

  // The user's browser, still showing their files, is signed out at its next click.
  await page.getByRole("link", { name: "Security" }).click();
  await expect(page.getByTestId("whoami")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
  await page.goto("/files");
  await expect(page.getByText("Sign in to upload and see your files.")).toBeVisible();
});

test("the admin deletes a user after the confirmation page, and their share link answers 404", async ({ page, browser }) => {
  const user = await signUp(page, "x");
  const name = `leaving-${Date.now()}.txt`;
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  await dropFile(page, name, "handing over\n".repeat(100));
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean");
  await row(page, name).getByTestId("share").click();
  await page.waitForLoadState("networkidle");
  await page.getByRole("button", { name: "Create link" }).click();
  const link = await page.getByTestId("new-link").getByTestId("copy-text").inputValue();
  const stranger = await browser.newContext();
  const before = await (await stranger.newPage()).goto(link);
  expect(before?.status()).toBe(200);

  const adminTab = await adminPage(browser);
  const userRow = await findUser(adminTab, user.username);
  await userRow.getByText("Manage…").click();
  await userRow.getByTestId("delete-user").click();
  await expect(adminTab).toHaveURL(/\/admin\/users\/[^/]+\/delete$/);
  const confirm = adminTab.getByTestId("confirm-delete");
  await expect(confirm).toContainText(user.email);
  await expect(confirm.getByTestId("belongings")).toContainText("1 file (1.3 KiB)");
  await expect(confirm.getByTestId("belongings")).toContainText("1 share link, which stop");
  await adminTab.getByTestId("confirm-delete-user").click();
  await expect(adminTab).toHaveURL(/\/admin\/users$/);
  await expect(adminTab.getByTestId("user-row").filter({ hasText: user.username })).toHaveCount(0);

  const after = await (await stranger.newPage()).goto(link);
  expect(after?.status()).toBe(404);
});

test("the audit page filters by action and exports the filtered rows as CSV", async ({ browser }) => {
  const adminTab = await adminPage(browser);
  const problems = watchProblems(adminTab);
  await adminTab.goto("/admin/audit");
  await adminTab.waitForLoadState("networkidle");
  await expect(adminTab.getByTestId("audit-row").first()).toBeVisible();
  await adminTab.getByTestId("filter-action").selectOption("login.ok");
  await adminTab.getByRole("button", { name: "Filter" }).click();
  await expect(adminTab).toHaveURL(/action=login\.ok/);
  const rows = adminTab.getByTestId("audit-row");
  await expect(rows.first()).toBeVisible();
  // The page keeps the previous rows on screen until the filtered ones arrive (a transition):
  // wait for them rather than read whatever a loaded machine still shows.
  await expect(adminTab.locator('[data-testid="audit-row"]:not([data-action="login.ok"])')).toHaveCount(0);
  const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-action")));
  expect(new Set(actions)).toEqual(new Set(["login.ok"]));
  // The admin's own sign-in is among them (other tests, in the other worker, sign in too).
  await expect(rows.filter({ hasText: admin.email }).first()).toBeVisible();

  const [download] = await Promise.all([
    adminTab.waitForEvent("download"),
    adminTab.getByTestId("export-csv").click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^coffer-audit-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = (await readFile(await download.path(), "utf8")).trim().split("\n");
  expect(lines[0]).toBe("time,actor_id,actor_email,action,target,outcome,ip,user_agent,detail,id,request_id");
  expect(lines.length).toBeGreaterThan(1);
  for (const line of lines.slice(1)) expect(line).toContain(",login.ok,");
  expect(problems).toEqual([]);
});

test("a non-admin sees the 403 page", async ({ page }) => {
  await signUp(page, "n");
  for (const path of ["/admin", "/admin/users", "/admin/audit"]) {
    const res = await page.goto(path);
    expect(res?.status()).toBe(403);
    await expect(page.getByTestId("admin-forbidden")).toContainText("Admins only");
  }
  await expect(page.getByTestId("admin-link")).toHaveCount(0);
});

test("@nojs an admin searches the users and disables one with plain forms", async ({ page }, info) => {
  test.skip(info.project.name !== "no-javascript", "the plain forms are what a browser without JavaScript uses");
  const user = uniqueUser("j");
  const api = await page.request.post("/api/v1/auth/register", {
    data: { email: user.email, username: user.username, password },
  });
  expect(api.status()).toBe(201);
  await page.goto("/login");
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto("/admin/users");
  await page.getByTestId("user-search").fill(user.username);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/users\\?q=${user.username}`));
  const userRow = page.getByTestId("user-row");
  await expect(userRow).toHaveCount(1);
  await userRow.getByText("Manage…").click();
  // Disabling asks first.
  await expect(userRow.getByTestId("disable")).toBeHidden();
  await userRow.getByText("Disable…").click();
  await userRow.getByTestId("disable").click();
  // Back on the same search, with the change made.
  await expect(page).toHaveURL(new RegExp(`/admin/users\\?q=${user.username}`));
  await expect(page.getByTestId("user-row").getByTestId("user-status")).toHaveText("disabled");
});
