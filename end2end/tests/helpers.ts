// Shared steps of the browser tests.
import { Browser, expect, Page, test } from "@playwright/test";

export const password = "correct horse battery";

export function uniqueUser(prefix = "u") {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { username: `${prefix}${id}`, email: `${prefix}${id}@example.org` };
}

/** Whether the page in `page` was sent with the wasm that hydrates it: all but the sign-in and
 * share link pages (`served_without_wasm` in src/app/mod.rs), unless the app's router rendered
 * those after another page. */
export async function loadsWasm(page: Page) {
  return (await page.locator("script[type=module]").count()) > 0;
}

/** Waits until the wasm has hydrated the page: every handler attached (the `coffer-hydrated`
 * performance mark, set by the wasm entry point in coffer-front/src/lib.rs). With JavaScript off (the
 * no-javascript project), or on a page sent without the wasm, there is nothing to wait for. */
export async function hydrated(page: Page) {
  if (test.info().project.use.javaScriptEnabled === false) return;
  if (!(await loadsWasm(page))) return;
  await page.waitForFunction(() => performance.getEntriesByName("coffer-hydrated").length > 0);
}

/** Registers a fresh account in the page (which is then signed in); returns it. */
export async function signUp(page: Page, prefix = "f") {
  const user = uniqueUser(prefix);
  await page.goto("/register");
  await hydrated(page);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user.username);
  return user;
}

/** Drops a file with this name and text content onto the drop zone, as a user dragging it,
 * once the page is hydrated (the drop zone is the wasm's: before, a drop does nothing). */
export async function dropFile(page: Page, name: string, content: string) {
  await dropFiles(page, { [name]: content });
}

/** Drops several files at once (names to text contents), as a user dragging a selection. */
export async function dropFiles(page: Page, files: Record<string, string>) {
  await hydrated(page);
  const dataTransfer = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const [name, content] of Object.entries(files)) {
      dt.items.add(new File([content], name, { type: "text/plain" }));
    }
    return dt;
  }, files);
  await page.dispatchEvent("[data-testid=dropzone]", "dragenter", { dataTransfer });
  await page.dispatchEvent("[data-testid=dropzone]", "drop", { dataTransfer });
}

/** The row of the file list that shows this name. */
export function row(page: Page, name: string) {
  return page.getByTestId("file-row").filter({ has: page.locator("td.name", { hasText: name }) });
}

/** The admin scripts/test.sh makes with `coffer create-admin` before the server starts. */
export const admin = {
  email: process.env.COFFER_E2E_ADMIN_EMAIL ?? "e2e-admin@example.org",
  password: process.env.COFFER_E2E_ADMIN_PASSWORD ?? password,
};

/** Console errors and uncaught exceptions of a page (hydration, CSP, script), as they come. */
export function watchProblems(page: Page) {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(err.message));
  return problems;
}

/** A new browser of its own, signed in as the admin. */
export async function adminPage(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/login");
  await page.waitForLoadState("networkidle");
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText("admin");
  return page;
}
