import { expect, test } from "@playwright/test";
import { createHash } from "node:crypto";

import { dropFile, dropFiles, hydrated, row, signUp } from "./helpers";

test("a sender without an account uploads into a request and the owner sees the file", async ({ page, browser }) => {
  await signUp(page, "r");
  await page.goto("/requests");
  await page.waitForLoadState("networkidle");
  await expect(page.getByTestId("no-requests")).toBeVisible();
  await page.getByTestId("request-title").fill("Signed contract");
  await page.getByTestId("request-message").fill("Please send the signed copy back.");
  await page.getByTestId("request-max-files").fill("5");
  await page.getByTestId("request-max-mb").fill("50");
  await page.getByTestId("create-request").click();
  const url = await page.getByTestId("new-request").getByTestId("copy-text").inputValue();
  expect(url).toMatch(/\/r\/[A-Za-z0-9_-]{43}$/);
  const qr = page.getByTestId("new-request").getByTestId("qr-code");
  await qr.getByText("Show QR code").click();
  await expect(qr.getByRole("img", { name: "QR code of the upload link" })).toBeVisible();
  await expect(page.getByTestId("request-card")).toHaveCount(1);
  await expect(page.getByTestId("request-status")).toHaveText("open");
  // Sizes in the unit the form asks in, counts in the singular for one.
  await expect(page.getByTestId("request-limits")).toHaveText("up to 5 files, 50 MiB in all");

  // A sender in a fresh browser, signed in nowhere.
  const stranger = await browser.newContext();
  const sender = await stranger.newPage();
  expect((await sender.goto(url))?.status()).toBe(200);
  await expect(sender.getByTestId("request-title")).toHaveText("Signed contract");
  await expect(sender.getByTestId("request-message")).toHaveText("Please send the signed copy back.");
  await expect(sender.getByTestId("room-left")).toContainText("Still takes 5 files, 50 MiB in all.");
  await sender.waitForLoadState("networkidle");
  const name = `contract-${Date.now()}.txt`;
  const content = "I agree to the terms.\n".repeat(2000);
  await dropFile(sender, name, content);
  await expect(sender.getByTestId("upload-item").getByRole("status")).toHaveText("Stored");
  const receipt = sender.getByTestId("receipt").filter({ hasText: name });
  await expect(receipt).toHaveCount(1);
  const sha256 = createHash("sha256").update(content).digest("hex");
  await expect(receipt.getByTestId("receipt-sha256")).toHaveText(sha256);
  // Several files sent at once: the receipt lists every one of them.
  const batch = Object.fromEntries([1, 2, 3].map((i) => [`page-${i}-${Date.now()}.txt`, `page ${i}\n`.repeat(300)]));
  await dropFiles(sender, batch);
  for (const [batchName, batchContent] of Object.entries(batch)) {
    const line = sender.getByTestId("receipt").filter({ hasText: batchName });
    await expect(line.getByTestId("receipt-sha256")).toHaveText(createHash("sha256").update(batchContent).digest("hex"));
  }
  await expect(sender.getByTestId("receipt")).toHaveCount(4);
  // A file type the server refuses is refused before a byte is sent, with the reason.
  await dropFile(sender, "setup.exe", "MZ");
  await expect(sender.getByTestId("upload-item").filter({ hasText: "setup.exe" })).toContainText("not accepted");
  await stranger.close();

  // The owner finds it in their files, marked as received, and on the request.
  await page.goto("/files");
  await expect(row(page, name)).toHaveCount(1);
  await expect(row(page, name).getByTestId("from-request")).toBeVisible();
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean");
  await page.goto("/requests");
  await expect(page.getByTestId("request-file")).toHaveCount(4);
  await expect(page.getByTestId("request-received")).toContainText("4 files");

  // Closed early, the link tells the next sender so.
  await page.waitForLoadState("networkidle");
  await expect(page.getByTestId("close-request")).toBeHidden();
  await page.getByText("Close now…").click();
  await page.getByTestId("close-request").click();
  await expect(page.getByTestId("request-status")).toHaveText("closed");
  const late = await browser.newContext();
  const latePage = await late.newPage();
  expect((await latePage.goto(url))?.status()).toBe(410);
  await expect(latePage.getByTestId("request-unavailable")).toHaveAttribute("data-code", "request_closed");
  await late.close();
});

test("the sender whose file fills a request is thanked, and the page stays a thank-you", async ({ page, browser }) => {
  // Senders share the server's uploads-a-minute per address with the test above: one file
  // here, and room to wait out that minute should it be used up.
  test.setTimeout(120_000);
  await signUp(page, "k");
  await page.goto("/requests");
  await page.waitForLoadState("networkidle");
  await page.getByTestId("request-title").fill("One signed page");
  await page.getByTestId("request-max-files").fill("1");
  await page.getByTestId("create-request").click();
  const url = await page.getByTestId("new-request").getByTestId("copy-text").inputValue();

  // A sender far away: times are shown in their zone and language, UTC on hover.
  const stranger = await browser.newContext({ timezoneId: "Asia/Tokyo", locale: "en-GB" });
  const sender = await stranger.newPage();
  await sender.goto(url);
  await hydrated(sender);
  await expect(sender.getByTestId("room-left")).toContainText("Still takes 1 file.");
  const until = sender.getByTestId("request-page").locator("time").first();
  const utc = (await until.getAttribute("title"))!;
  expect(utc).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  const local = new Intl.DateTimeFormat("en-GB", {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo",
  }).format(new Date(utc.replace(" UTC", ":00Z").replace(" ", "T")));
  await expect(until).toHaveText(local);
  await dropFile(sender, "signed-page.txt", "signed\n");
  await expect(sender.getByTestId("request-thanks")).toContainText("All files received — thank you.", {
    timeout: 80_000,
  });
  await expect(sender.getByTestId("room-left")).toHaveCount(0);
  await expect(sender.getByTestId("receipt")).toHaveCount(1);
  // After a reload, the same thanks instead of "full".
  await sender.reload();
  await expect(sender.getByTestId("request-thanks")).toBeVisible();
  await expect(sender.getByTestId("request-unavailable")).toHaveCount(0);
  await expect(sender.getByTestId("receipt")).toHaveCount(1);
  await stranger.close();
});
