import { expect, Page, test } from "@playwright/test";
import { readFile } from "node:fs/promises";

import { dropFile, password, row, signUp, watchProblems } from "./helpers";

/** Uploads through the page and waits until the file is scanned clean. */
async function uploadClean(page: Page, name: string, content: string) {
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  await dropFile(page, name, content);
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean");
}

test("an owner shares with a password; a stranger is refused, then downloads; revoking ends it", async ({ page, browser }) => {
  const owner = await signUp(page, "s");
  const name = `plans-${Date.now()}.txt`;
  const content = "Launch plans, strictly between us.\n".repeat(2_000);
  await uploadClean(page, name, content);

  await row(page, name).getByTestId("share").click();
  await expect(page).toHaveURL(/\/files\/[^/]+\/share$/);
  await expect(page.getByTestId("share-file-name")).toHaveText(name);
  await expect(page.getByTestId("no-links")).toBeVisible();
  await page.waitForLoadState("networkidle");
  await page.getByTestId("expiry").selectOption("168");
  await page.getByTestId("max-downloads").fill("2");
  await page.getByTestId("share-password").fill("blue harbour");
  await page.getByTestId("share-label").fill("For the board");
  await page.getByRole("button", { name: "Create link" }).click();

  const created = page.getByTestId("new-link");
  await expect(created).toContainText("shown only this once");
  await expect(created.getByTestId("copy")).toBeVisible();
  // "Copied" for two seconds, then ready to copy again.
  await created.getByTestId("copy").click();
  await expect(created.getByTestId("copy")).toHaveText("Copied");
  await expect(created.getByTestId("copy")).toHaveText("Copy", { timeout: 5_000 });
  const url = await created.getByTestId("copy-text").inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
  // Its QR code, for a phone, behind a disclosure beside it.
  const qr = created.getByTestId("qr-code");
  await expect(qr.getByRole("img")).toBeHidden();
  await qr.getByText("Show QR code").click();
  await expect(qr.getByRole("img", { name: "QR code of the share link" })).toBeVisible();
  expect(await qr.getByRole("img").getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
  await expect(page.getByTestId("link-row")).toHaveCount(1);
  // The form keeps every choice for the next link, the expiry too (it went back to "1 day").
  await expect(page.getByTestId("expiry")).toHaveValue("168");
  await expect(page.getByTestId("max-downloads")).toHaveValue("2");
  await expect(page.getByTestId("link-uses")).toHaveText("0 of 2");
  // The label names this link; the next one starts without.
  await expect(page.getByTestId("link-label")).toHaveText("For the board");
  await expect(page.getByTestId("share-label")).toHaveValue("");
  await expect(page.getByTestId("link-status")).toHaveText("active");

  // A stranger: a fresh browser context, no cookies, no account.
  const stranger = await browser.newContext();
  const recipient = await stranger.newPage();
  const problems = watchProblems(recipient);
  const opened = await recipient.goto(url);
  expect(opened?.status()).toBe(200);
  expect(opened?.headers()["referrer-policy"]).toBe("no-referrer");
  expect(opened?.headers()["cache-control"]).toBe("no-store");
  await expect(recipient.getByTestId("shared-name")).toHaveText("A password-protected file");
  // Nothing about the file or its sender before the password.
  await expect(recipient.getByText(name)).toHaveCount(0);
  await expect(recipient.getByText(owner.username)).toHaveCount(0);
  await expect(recipient.getByTestId("shared-by")).toHaveCount(0);
  await expect(recipient.getByTestId("downloads-left")).toHaveCount(0);

  await recipient.getByTestId("recipient-password").fill("red harbour");
  await recipient.getByTestId("recipient-download").click();
  await expect(recipient.getByRole("alert")).toHaveText("That password is not right");

  await recipient.getByTestId("recipient-password").fill("blue harbour");
  const [download] = await Promise.all([
    recipient.waitForEvent("download"),
    recipient.getByTestId("recipient-download").click(),
  ]);
  expect(download.suggestedFilename()).toBe(name);
  const bytes = await readFile(await download.path());
  expect(bytes.equals(Buffer.from(content))).toBe(true);
  // The page tells what happened, and the earlier wrong password is gone.
  await expect(recipient.getByTestId("download-started")).toContainText(
    `Download of ${name} started · 1 download left`,
  );
  await expect(recipient.getByTestId("downloads-left")).toHaveText("1");
  await expect(recipient.getByRole("alert")).toHaveCount(0);
  await expect(recipient.getByTestId("recipient-download")).toBeEnabled();
  expect(problems, "no script errors on the recipient page").toEqual([]);
  await stranger.close();

  // The owner sees the use, and revokes the link.
  await page.reload();
  await expect(page.getByTestId("link-uses")).toHaveText("1 of 2");
  await page.waitForLoadState("networkidle");
  // Revoking asks first.
  await expect(page.getByTestId("revoke")).toBeHidden();
  await page.getByTestId("link-row").getByText("Revoke…").click();
  await page.getByTestId("revoke").click();
  await expect(page.getByTestId("link-status")).toHaveText("revoked");
  await expect(page.getByTestId("revoke")).toHaveCount(0);

  // A protected link tells nothing of itself before its password, not even that it was
  // revoked; with the password, its page says so.
  const later = await browser.newContext();
  const gone = await later.newPage();
  const res = await gone.goto(url);
  expect(res?.status()).toBe(200);
  await expect(gone.getByTestId("shared-name")).toHaveText("A password-protected file");
  await gone.getByTestId("recipient-password").fill("blue harbour");
  await gone.getByTestId("recipient-download").click();
  await expect(gone.getByRole("heading", { level: 1 })).toHaveText("Link revoked");
  await later.close();
});

test("expired and unknown links get pages of their own", async ({ page, request }) => {
  const owner = await signUp(page, "x");
  const login = await request.post("/api/v1/auth/login", {
    data: { email: owner.email, password },
  });
  expect(login.status()).toBe(200);
  const auth = { Authorization: `Bearer ${(await login.json()).access_token}` };
  const upload = await request.post("/api/v1/files/upload", {
    headers: auth,
    multipart: { file: { name: "soon.txt", mimeType: "text/plain", buffer: Buffer.from("short-lived") } },
  });
  expect(upload.status()).toBe(201);
  const file = await upload.json();
  const share = await request.post(`/api/v1/files/${file.id}/share`, {
    headers: auth,
    data: { expires_at: new Date(Date.now() + 2_000).toISOString() },
  });
  expect(share.status()).toBe(201);
  const { share_url } = await share.json();

  await page.waitForTimeout(3_000);
  const expired = await page.goto(share_url);
  expect(expired?.status()).toBe(410);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Link expired");
  await expect(page.getByTestId("recipient-download")).toHaveCount(0);

  const unknown = await page.goto("/s/not-a-real-link");
  expect(unknown?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Link not found");
});

test("@nojs sharing and downloading by link work with JavaScript off", async ({ page, browser }, info) => {
  test.skip(info.project.name !== "no-javascript", "the plain forms are what a browser without JavaScript uses");
  await signUp(page, "n");
  await page.goto("/files");
  await page.locator("input[type=file]").setInputFiles({
    name: "plain-share.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("shared by a plain form"),
  });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(async () => {
    await page.reload();
    await expect(row(page, "plain-share.txt").getByTestId("scan-status")).toHaveText("clean", { timeout: 500 });
  }).toPass({ timeout: 15_000 });

  await row(page, "plain-share.txt").getByTestId("share").click();
  await page.getByTestId("max-downloads").fill("1");
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page).toHaveURL(/\/files\/[^/]+\/share$/);
  const url = await page.getByTestId("new-link").getByTestId("copy-text").inputValue();
  // Shown once: a reload no longer has it.
  await page.reload();
  await expect(page.getByTestId("new-link")).toHaveCount(0);
  await expect(page.getByTestId("link-uses")).toHaveText("0 of 1");

  const stranger = await browser.newContext({ javaScriptEnabled: false });
  const recipient = await stranger.newPage();
  await recipient.goto(url);
  await expect(recipient.getByTestId("shared-name")).toHaveText("plain-share.txt");
  const [download] = await Promise.all([
    recipient.waitForEvent("download"),
    recipient.getByTestId("recipient-download").click(),
  ]);
  expect(download.suggestedFilename()).toBe("plain-share.txt");
  // That was the link's only download: the page says so and offers no other.
  await expect(recipient.getByTestId("download-started")).toContainText("no downloads left");
  await expect(recipient.getByTestId("recipient-download")).toBeDisabled();
  await expect(recipient.getByTestId("used-up")).toBeVisible();
  const used = await recipient.goto(url);
  expect(used?.status()).toBe(403);
  await expect(recipient.getByRole("heading", { level: 1 })).toHaveText("Download limit reached");
  await stranger.close();
});
