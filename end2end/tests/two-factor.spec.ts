import { expect, test } from "@playwright/test";
import { createHmac } from "node:crypto";

import { hydrated, password, signUp } from "./helpers";

/** RFC 4648 base32 to bytes (the secret as the page shows it, spaces allowed). */
function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) at `unixSeconds`, as an authenticator app computes it. */
function totp(secret: string, unixSeconds: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

test("enrol in 2FA from the QR page, see the recovery codes, then sign in with password and code", async ({ page }) => {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(err.message));
  page.on("console", (msg) => {
    // The wrong code below is answered 400, which the browser logs; anything else is a fault.
    const refusal = msg.text().includes("status of 400");
    if (msg.type() === "error" && !refusal) problems.push(msg.text());
  });
  const user = await signUp(page, "t");
  await page.getByRole("link", { name: "Security" }).click();
  await expect(page).toHaveURL(/\/settings\/security$/);
  await expect(page.getByTestId("two-factor-status")).toContainText("Off");
  await expect(page.getByTestId("this-browser")).toBeVisible();
  await hydrated(page);

  // Account security changes ask for the password again.
  await page.getByLabel("Your current password").fill(password);
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const qr = page.getByTestId("totp-qr");
  await expect(qr).toBeVisible();
  expect(await qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
  expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  const secret = (await page.getByTestId("totp-secret").textContent()) ?? "";
  expect(secret.replace(/\s/g, "")).toMatch(/^[A-Z2-7]{32}$/);

  // A wrong code first: refused, still enrolling.
  await page.getByTestId("enrol-code").fill("000000");
  await page.getByRole("form", { name: "Turn on two-factor authentication" }).getByLabel("Your current password").fill(password);
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByRole("alert")).toContainText("That code is not right");

  const enrolledAt = Date.now() / 1000;
  await page.getByTestId("enrol-code").fill(totp(secret, enrolledAt));
  await page.getByRole("form", { name: "Turn on two-factor authentication" }).getByLabel("Your current password").fill(password);
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByTestId("recovery-codes");
  await expect(codes).toBeVisible();
  await expect(codes.locator("li")).toHaveCount(10);
  await expect(codes.locator("li").first()).toHaveText(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("download-codes").click(),
  ]);
  expect(file.suggestedFilename()).toBe("coffer-recovery-codes.txt");
  await expect(page.getByTestId("two-factor-status")).toContainText("On.");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/code$/);
  await expect(page.getByTestId("whoami")).toHaveCount(0);
  await hydrated(page);
  // The enrolment's code is spent; the app's next code (within the one-step tolerance) is not.
  await page.getByTestId("login-code").fill(totp(secret, enrolledAt + 30));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user.username);
  expect(problems, "no script errors").toEqual([]);
});
