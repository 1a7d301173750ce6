// Resumable uploads from /files: the page sends files by tus in 8 MiB requests and carries on
// after the network goes away, after a pause, and after a reload.
import { expect, Page, test } from "@playwright/test";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { row, signUp } from "./helpers";

const MIB = 1024 * 1024;

/** Text that differs from byte to byte (so a misplaced piece shows); the same in the page. */
function textOf(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i + 1) % 97 === 0 ? 10 : 97 + ((i * 7 + (i >> 12)) % 26);
  return bytes;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Drops a file of `size` bytes of [`textOf`] made in the page, as a user dragging it. */
async function dropGenerated(page: Page, name: string, size: number) {
  const dataTransfer = await page.evaluateHandle(
    ({ name, size }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i + 1) % 97 === 0 ? 10 : 97 + ((i * 7 + (i >> 12)) % 26);
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: "text/plain" }));
      return dt;
    },
    { name, size },
  );
  await page.dispatchEvent("[data-testid=dropzone]", "dragenter", { dataTransfer });
  await page.dispatchEvent("[data-testid=dropzone]", "drop", { dataTransfer });
}

/** Waits for the file's scan, downloads it from its row and returns the bytes. */
async function downloaded(page: Page, name: string): Promise<Buffer> {
  await expect(row(page, name).getByTestId("scan-status")).toHaveText("clean", { timeout: 30_000 });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    row(page, name).getByTestId("download").click(),
  ]);
  return readFile(await download.path());
}

async function openFiles(page: Page) {
  await signUp(page);
  await page.goto("/files");
  await page.waitForLoadState("networkidle");
}

test("a 30 MiB upload carries on after the network goes away mid-way, and arrives intact", async ({ page, context }) => {
  test.setTimeout(120_000);
  await openFiles(page);
  const name = `offline-${Date.now()}.txt`;
  const offsets: string[] = [];
  let patches = 0;
  await page.route("**/api/v1/uploads/*", async (route) => {
    const request = route.request();
    if (request.method() === "PATCH") {
      offsets.push(request.headers()["upload-offset"]);
      // The second request: the network goes away under it, and comes back 2 s later.
      if (++patches === 2) {
        await context.setOffline(true);
        await route.abort("internetdisconnected");
        setTimeout(() => void context.setOffline(false), 2_000);
        return;
      }
    }
    await route.continue();
  });
  await dropGenerated(page, name, 30 * MIB);
  const item = page.getByTestId("upload-item").filter({ hasText: name });
  await expect(item.getByRole("status")).toHaveText("Connection lost: retrying…");
  await expect(item.getByRole("status")).toHaveText("Stored", { timeout: 60_000 });
  await expect(item.getByTestId("upload-percent")).toHaveText("100%");
  // It went on from where the server had it (8 MiB), not from the start.
  expect(offsets.slice(0, 3)).toEqual(["0", String(8 * MIB), String(8 * MIB)]);
  expect(offsets.filter((offset) => offset === "0"), "never from the start again").toHaveLength(1);
  await page.unrouteAll({ behavior: "ignoreErrors" });
  expect(sha256(await downloaded(page, name))).toBe(sha256(textOf(30 * MIB)));
});

test("pausing stops the upload and resuming finishes it", async ({ page }) => {
  await openFiles(page);
  const name = `paused-${Date.now()}.txt`;
  // Each request waits a moment, so that there is time to pause.
  await page.route("**/api/v1/uploads/*", async (route) => {
    if (route.request().method() === "PATCH") await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  });
  await dropGenerated(page, name, 20 * MIB);
  const item = page.getByTestId("upload-item").filter({ hasText: name });
  await item.getByTestId("upload-pause").click();
  await expect(item.getByRole("status")).toContainText("Paused at");
  await expect(item.getByTestId("upload-pause")).toHaveText("Resume");
  const percent = await item.getByTestId("upload-percent").textContent();
  await page.waitForTimeout(1_500);
  await expect(item.getByTestId("upload-percent")).toHaveText(percent ?? "");
  await expect(row(page, name)).toHaveCount(0);
  await item.getByTestId("upload-pause").click();
  await expect(item.getByRole("status")).toHaveText("Stored", { timeout: 30_000 });
  await page.unrouteAll({ behavior: "ignoreErrors" });
  expect(sha256(await downloaded(page, name))).toBe(sha256(textOf(20 * MIB)));
});

test("after a reload mid-upload, choosing the same file again carries the upload on", async ({ page }) => {
  test.setTimeout(120_000);
  await openFiles(page);
  const dir = await mkdtemp(join(tmpdir(), "coffer-e2e-"));
  const name = `reloaded-${Date.now()}.txt`;
  const path = join(dir, name);
  const content = textOf(30 * MIB);
  await writeFile(path, content);

  // Two requests go through; from the third on the network fails, and the page is reloaded
  // while the upload waits to try again.
  let patches = 0;
  await page.route("**/api/v1/uploads/*", async (route) => {
    if (route.request().method() === "PATCH" && ++patches >= 3) return route.abort("connectionreset");
    await route.continue();
  });
  await page.locator("input[type=file]").setInputFiles(path);
  await expect(page.getByTestId("upload-item").getByRole("status")).toHaveText("Connection lost: retrying…");
  expect(patches).toBeGreaterThanOrEqual(3);
  await page.reload();
  await page.waitForLoadState("networkidle");
  // The network is back only now: no request of the old page reached the server.
  await page.unrouteAll({ behavior: "ignoreErrors" });

  const seen: { method: string; offset?: string }[] = [];
  page.on("request", (request) => {
    if (request.url().includes("/api/v1/uploads")) {
      seen.push({ method: request.method(), offset: request.headers()["upload-offset"] });
    }
  });
  await page.locator("input[type=file]").setInputFiles(path);
  const item = page.getByTestId("upload-item").filter({ hasText: name });
  await expect(item.getByRole("status")).toHaveText("Stored", { timeout: 60_000 });
  // No new upload: the page asked where the old one was and sent the rest.
  expect(seen.map((s) => s.method)).not.toContain("POST");
  expect(seen[0].method).toBe("HEAD");
  expect(seen.find((s) => s.method === "PATCH")?.offset).toBe(String(16 * MIB));
  expect(sha256(await downloaded(page, name))).toBe(sha256(content));
});
