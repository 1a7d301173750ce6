import { expect, Page, test } from "@playwright/test";

import { hydrated, loadsWasm, password, uniqueUser, watchProblems } from "./helpers";

async function waitForHydration(page: Page) {
  // Forms are handled client-side once the wasm has hydrated the page.
  await hydrated(page);
}

test("register, sign out, sign in, and see a wrong password rejected", async ({ page }) => {
  const user = uniqueUser();
  await page.goto("/register");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user.username);
  await expect(page).toHaveURL(/\/$/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId("whoami")).toHaveCount(0);

  await waitForHydration(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password");
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user.username);
});

test("registration errors are shown in words", async ({ page }) => {
  await page.goto("/register");
  await waitForHydration(page);
  const user = uniqueUser();
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Username").fill(user.username);
  // Passes the browser's own checks (8 characters) but the server still validates; use a
  // taken account instead to see the server's message.
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user.username);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/register");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Username").fill(`${user.username}x`);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert")).toContainText("already registered");
});

test("sign-in loads no wasm; other pages hydrate cleanly from files cached for good", async ({ page }) => {
  const problems = watchProblems(page);
  const fetched: string[] = [];
  page.on("request", (req) => fetched.push(req.url()));

  // Where first visits land, the page is plain HTML: no script, no wasm.
  for (const path of ["/login", "/login/code"]) {
    await page.goto(path);
    await page.waitForLoadState("load");
    expect(await loadsWasm(page), `${path} has no hydration script`).toBe(false);
  }
  expect(fetched.filter((url) => /\.(wasm|js)$/.test(url)), "nothing but the page and its stylesheet").toEqual([]);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Two-factor code");

  // The wasm's name carries its content hash, so browsers may keep it without asking again.
  const wasm = page.waitForResponse((res) => /\/pkg\/coffer\.[A-Za-z0-9_-]+\.wasm$/.test(res.url()));
  // Most pages are split off the main wasm and fetched when first shown: that code, too, loads
  // under the CSP, as wasm, cached for good, and hydrates its page cleanly.
  const split = page.waitForResponse((res) => /\/pkg\/(split_|chunk_)[^/]+\.wasm$/.test(res.url()));
  await page.goto("/register");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Create account" })).toBeVisible();
  expect(problems).toEqual([]);
  for (const response of [await wasm, await split]) {
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toBe("application/wasm");
    expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  }

  // From a hydrated page, the router shows the sign-in page with the wasm already running.
  await page.getByRole("link", { name: "Sign in" }).first().click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
  expect(await loadsWasm(page)).toBe(true);
  expect(problems).toEqual([]);
});

test("@nojs sign in and a wrong password work with JavaScript off", async ({ page }) => {
  // Create the account through the API so this test needs no JavaScript at all.
  const user = uniqueUser();
  const api = await page.request.post("/api/v1/auth/register", {
    data: { email: user.email, username: user.username, password },
  });
  expect(api.status()).toBe(201);

  await page.goto("/login");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password");

  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("whoami")).toContainText(user.username);
});
