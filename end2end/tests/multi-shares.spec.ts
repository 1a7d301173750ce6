import { expect, Page, test } from "@playwright/test";
import { execFileSync } from "node:child_process";

import { dropFile, row, signUp } from "./helpers";

/** A zip's entries as Python's zipfile reads them: an independent reader. */
function zipEntries(path: string): Record<string, string> {
  const script =
    "import json, sys, zipfile\n" +
    "z = zipfile.ZipFile(sys.argv[1])\n" +
    "print(json.dumps({n: z.read(n).decode() for n in z.namelist()}))";
  const python = process.env.COFFER_TEST_PYTHON ?? "python3";
  return JSON.parse(execFileSync(python, ["-c", script, path]).toString());
}

async function uploadClean(page: Page, name: string, content: string) {
  await dropFile(page, name, content);
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean");
}

test("three files shared under one link arrive in a fresh browser as one zip", async ({ page, browser }) => {
  await signUp(page, "m");
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  const stamp = Date.now();
  const files: Record<string, string> = {
    [`one-${stamp}.txt`]: "the first file\n".repeat(500),
    [`two-${stamp}.csv`]: "a,b,c\n1,2,3\n".repeat(300),
    [`three-${stamp}.txt`]: "the third file\n".repeat(700),
  };
  for (const [name, content] of Object.entries(files)) await uploadClean(page, name, content);

  for (const name of Object.keys(files)) await row(page, name).getByTestId("select-file").check();
  await page.getByTestId("share-selected").click();
  await expect(page).toHaveURL(/\/shares\/new\?files=/);
  await expect(page.getByTestId("selected-file")).toHaveCount(3);
  await page.waitForLoadState("networkidle");
  await page.getByTestId("max-downloads").fill("2");
  await page.getByRole("button", { name: "Create link" }).click();
  const url = await page.getByTestId("new-link").getByTestId("copy-text").inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);

  const stranger = await browser.newContext();
  const recipient = await stranger.newPage();
  expect((await recipient.goto(url))?.status()).toBe(200);
  await expect(recipient.getByTestId("shared-name")).toHaveText("3 files");
  await expect(recipient.getByTestId("shared-entry")).toHaveCount(3);
  await expect(recipient.getByTestId("counting-rule")).toBeVisible();
  await expect(recipient.getByTestId("downloads-left")).toHaveText("2");
  const [download] = await Promise.all([
    recipient.waitForEvent("download"),
    recipient.getByTestId("download-all").click(),
  ]);
  expect(download.suggestedFilename()).toBe("shared-files.zip");
  expect(zipEntries(await download.path())).toEqual(files);

  // One file on its own counts too.
  await recipient.goto(url);
  await expect(recipient.getByTestId("downloads-left")).toHaveText("1");
  const single = recipient.getByTestId("shared-entry").filter({ hasText: `two-${stamp}.csv` });
  const [one] = await Promise.all([
    recipient.waitForEvent("download"),
    single.getByTestId("recipient-download").click(),
  ]);
  expect(one.suggestedFilename()).toBe(`two-${stamp}.csv`);
  await stranger.close();
});
