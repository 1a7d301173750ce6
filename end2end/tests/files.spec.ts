import { expect, test } from "@playwright/test";
import { readFile } from "node:fs/promises";

import { dropFile, dropFiles, row, signUp, watchProblems } from "./helpers";

test("a dropped file shows progress, turns from pending to clean, and downloads intact", async ({ page }) => {
  const problems = watchProblems(page);
  await signUp(page);
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  const name = `report-${Date.now()}.txt`;
  const content = "Quarterly figures, line by line.\n".repeat(40_000); // ~1.3 MB
  await dropFile(page, name, content);

  const item = page.getByTestId("upload-item").filter({ hasText: name });
  await expect(item.locator("progress")).toBeVisible();
  await expect(item.getByTestId("upload-percent")).toHaveText("100%");
  await expect(item.getByRole("status")).toHaveText("Stored");

  const status = row(page, name).getByTestId("scan-status");
  await expect(status).toBeVisible();
  await expect(status).toHaveText("clean");
  // Uploaded moments ago: said so, with the exact time on hover.
  const uploaded = row(page, name).locator("time");
  await expect(uploaded).toHaveText(/^(just now|1 minute ago)$/);
  await expect(uploaded).toHaveAttribute("title", /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    row(page, name).getByTestId("download").click(),
  ]);
  expect(download.suggestedFilename()).toBe(name);
  const bytes = await readFile(await download.path());
  expect(bytes.equals(Buffer.from(content))).toBe(true);
  expect(problems, "no hydration, CSP or script errors on /files").toEqual([]);
});

test("a file named like markup is shown as text and downloads under that name", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  await signUp(page);
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  const name = "<img src=x onerror=alert(1)>.txt";
  await dropFile(page, name, "just text");
  await expect(page.getByTestId("upload-item").getByRole("status")).toHaveText("Stored");

  const cell = page.locator("td.name", { hasText: name });
  await expect(cell).toHaveText(name);
  await expect(page.locator("table img, .uploads img")).toHaveCount(0);
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean");

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    row(page, name).getByTestId("download").click(),
  ]);
  expect(download.suggestedFilename()).toBe(name.replace(/[<>]/g, "_"));
  // Reload: the name comes from the server render too, still as text.
  await page.reload();
  await expect(page.locator("td.name", { hasText: name })).toHaveText(name);
  await expect(page.locator("table img")).toHaveCount(0);
  expect(dialogs).toEqual([]);
});

test("refused files say why, before and after sending", async ({ page }) => {
  await signUp(page);
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  await dropFile(page, "tool.exe", "MZ not allowed");
  await expect(page.getByTestId("upload-item").filter({ hasText: "tool.exe" }).getByRole("alert"))
    .toContainText("not accepted");
  // Passes the browser's extension check, but the server sniffs the content.
  await dropFile(page, "fake.pdf", "this is not a PDF");
  await expect(page.getByTestId("upload-item").filter({ hasText: "fake.pdf" }).getByRole("alert"))
    .toContainText("does not look like a .pdf file");
  // A refused file shows no progress bar (it was not stored), and its reason stays in its row.
  for (const name of ["tool.exe", "fake.pdf"]) {
    await expect(page.getByTestId("upload-item").filter({ hasText: name }).locator("progress")).toHaveCount(0);
  }
  const [first, second] = await Promise.all(
    ["tool.exe", "fake.pdf"].map((name) => page.getByTestId("upload-item").filter({ hasText: name }).boundingBox()),
  );
  expect(first!.y + first!.height <= second!.y || second!.y + second!.height <= first!.y, "rows do not overlap").toBe(true);
  await expect(page.getByTestId("file-row")).toHaveCount(0);
});

test("deleting asks first, then removes the file", async ({ page }) => {
  await signUp(page);
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  await dropFile(page, "old.txt", "to be deleted");
  await expect(row(page, "old.txt")).toHaveCount(1);
  await row(page, "old.txt").getByText("Delete…").click();
  await row(page, "old.txt").getByRole("button", { name: "Delete permanently" }).click();
  await expect(page.getByTestId("file-row")).toHaveCount(0);
  await expect(page.getByTestId("no-files")).toBeVisible();
});

test("@nojs uploading with the file picker works with JavaScript off", async ({ page }, info) => {
  test.skip(info.project.name !== "no-javascript", "the plain form is what a browser without JavaScript uses");
  await signUp(page);
  await page.goto("/files");
  await page.locator("input[type=file]").setInputFiles({
    name: "plain.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("sent by a plain form"),
  });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page).toHaveURL(/\/files$/);
  await expect(row(page, "plain.txt")).toHaveCount(1);
  // The page shows the status at render time; reload until the scan is done.
  await expect(async () => {
    await page.reload();
    await expect(row(page, "plain.txt").getByTestId("scan-status")).toHaveText("clean", { timeout: 500 });
  }).toPass({ timeout: 15_000 });

  await page.locator("input[type=file]").setInputFiles({
    name: "tool.exe",
    mimeType: "application/octet-stream",
    buffer: Buffer.from("MZ"),
  });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText("not accepted");
});

test("seven files dropped at once all arrive: the page waits out the server's limit by itself", async ({ page }) => {
  // The server takes 5 uploads a minute from a user (COFFER_RATE_UPLOAD_PER_MIN's default):
  // the sixth and seventh wait for the minute to pass, counting down, then go.
  test.setTimeout(240_000);
  await signUp(page, "q");
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
  const stamp = Date.now();
  const files = Object.fromEntries(
    Array.from({ length: 7 }, (_, i) => [`batch-${i + 1}-${stamp}.txt`, `file ${i + 1}\n`.repeat(500)]),
  );
  await dropFiles(page, files);
  const items = page.getByTestId("upload-item");
  await expect(items).toHaveCount(7);
  // In the order they were chosen.
  await expect(items.first()).toContainText(`batch-1-${stamp}.txt`);
  await expect(items.getByRole("status").filter({ hasText: "The server asked to wait" }).first()).toBeVisible();
  for (const name of Object.keys(files)) {
    const item = items.filter({ hasText: name });
    await expect(item.getByRole("status")).toHaveText("Stored", { timeout: 180_000 });
  }
  for (const name of Object.keys(files)) await expect(row(page, name)).toHaveCount(1);
  await expect(page.getByRole("alert")).toHaveCount(0);

  // Finished rows can be cleared away.
  await page.getByTestId("clear-finished").click();
  await expect(items).toHaveCount(0);
});

test("a file given before the page is ready is sent once it is, and a drop anywhere on the page uploads", async ({ page }) => {
  const problems = watchProblems(page);
  await signUp(page, "w");
  // Hold the page's wasm back, as a slow phone link does: the page shows, but nothing runs yet.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto("/files", { waitUntil: "domcontentloaded" });
  const zone = page.getByTestId("dropzone");
  // Before then, the zone does not offer to take drops; its picker takes the file.
  await expect(zone).toContainText("Choose files to upload");
  await expect(zone).not.toContainText("Drop files");
  await expect(zone).not.toHaveClass(/\bready\b/);
  const early = `early-${Date.now()}.txt`;
  await page.locator("input[type=file]").setInputFiles({
    name: early,
    mimeType: "text/plain",
    buffer: Buffer.from("given before the page was ready\n"),
  });
  release();
  await expect(zone).toHaveClass(/\bready\b/);
  await expect(zone).toContainText("Drop files anywhere on the page");
  const item = page.getByTestId("upload-item").filter({ hasText: early });
  await expect(item.getByRole("status")).toHaveText("Stored");
  await expect(row(page, early)).toHaveCount(1);

  // Dragged over the page's heading, far from the zone: the page says it takes the drop.
  const anywhere = `anywhere-${Date.now()}.txt`;
  const dataTransfer = await page.evaluateHandle((name) => {
    const dt = new DataTransfer();
    dt.items.add(new File(["dropped on the heading\n"], name, { type: "text/plain" }));
    return dt;
  }, anywhere);
  const overlay = page.getByText("Drop to upload");
  await expect(overlay).toBeHidden();
  await page.dispatchEvent("h1", "dragenter", { dataTransfer });
  await expect(overlay).toBeVisible();
  await page.dispatchEvent("h1", "dragover", { dataTransfer });
  await page.dispatchEvent("h1", "drop", { dataTransfer });
  await expect(overlay).toBeHidden();
  await expect(page.getByTestId("upload-item").filter({ hasText: anywhere }).getByRole("status")).toHaveText("Stored");
  await expect(row(page, anywhere)).toHaveCount(1);
  expect(problems, "no script errors on /files").toEqual([]);
});
