// Every page at a phone's size and a laptop's, in light and dark mode: nothing scrolls sideways,
// axe-core (injected into the page) finds no violation, and a screenshot of each is kept in
// test-results/tour/ (not committed) for a person to look at.
import { APIRequestContext, BrowserContext, expect, Page, request, test } from "@playwright/test";
import { mkdir, readFile } from "node:fs/promises";
import { resolve } from "node:path";

import { admin, adminPage, hydrated, password, signUp, watchProblems } from "./helpers";

// Tests run from end2end/ (scripts/test.sh). Evaluated through the DevTools protocol, which the
// page's Content-Security-Policy does not govern (a script tag would be refused).
const axeSource = readFile(resolve("node_modules/axe-core/axe.min.js"), "utf8");

const modes = [
  { name: "phone-light", viewport: { width: 390, height: 844 }, colorScheme: "light" },
  { name: "phone-dark", viewport: { width: 390, height: 844 }, colorScheme: "dark" },
  { name: "desktop-light", viewport: { width: 1366, height: 850 }, colorScheme: "light" },
  { name: "desktop-dark", viewport: { width: 1366, height: 850 }, colorScheme: "dark" },
] as const;

/** A token for the REST API, to set up what the pages show. */
async function api(baseURL: string, email: string, secret: string): Promise<APIRequestContext> {
  const anonymous = await request.newContext({ baseURL });
  const login = await anonymous.post("/api/v1/auth/login", { data: { email, password: secret } });
  expect(login.status(), await login.text()).toBe(200);
  const { access_token } = await login.json();
  await anonymous.dispose();
  return request.newContext({ baseURL, extraHTTPHeaders: { authorization: `Bearer ${access_token}` } });
}

async function upload(client: APIRequestContext, name: string, content: string) {
  const res = await client.post("/api/v1/files/upload", {
    multipart: { file: { name, mimeType: "text/plain", buffer: Buffer.from(content) } },
  });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()).id as string;
}

/** What one page looks like in one mode, after `act` (if any) did something on it: no sideways
 * scrolling, no axe violation, a screenshot. */
async function inspect(page: Page, path: string, label: string, mode: string, act?: (page: Page) => Promise<void>) {
  const problems = watchProblems(page);
  const response = await page.goto(path);
  expect(response?.status(), `${label}: status`).toBeLessThan(500);
  // Every page is rendered whole on the server (SsrMode::Async): once hydrated, it is all there.
  await hydrated(page);
  if (act) await act(page);
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  await page.screenshot({ path: `test-results/tour/${label}-${mode}.png`, fullPage: true });
  expect(widths.scroll, `${label} (${mode}) scrolls sideways`).toBeLessThanOrEqual(widths.client);
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    // @ts-expect-error axe is injected above
    const result = await axe.run(document);
    return result.violations.map(
      (v: { id: string; help: string; nodes: { target: string[] }[] }) =>
        `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
    );
  });
  expect(violations, `${label} (${mode}): axe violations`).toEqual([]);
  // A page that answers 404 (on purpose) is reported as a resource that failed to load.
  const expected = response?.status() === 404 ? /status of 404/ : null;
  expect(problems.filter((p) => !expected?.test(p)), `${label} (${mode}): script errors`).toEqual([]);
}

// The four modes are four tests: a failure names its mode.

for (const mode of modes) {
  test(`every page fits ${mode.name}, with no axe violation`, async ({ browser, baseURL }) => {
    test.setTimeout(180_000);
    await mkdir("test-results/tour", { recursive: true });

    // A user with files (one with a long unbroken name), links, a request and a webhook.
    const signup = await browser.newContext();
    const user = await signUp(await signup.newPage(), "t");
    const userState = await signup.storageState();
    await signup.close();
    const client = await api(baseURL!, user.email, password);
    const fileId = await upload(client, "quarterly-report-final-version-2026-with-appendix-and-signatures.pdf.txt", "report\n");
    const other = await upload(client, "notes.txt", "notes\n".repeat(300));
    const share = await client.post(`/api/v1/files/${fileId}/share`, { data: { expires_hours: 24, max_downloads: 5, password: "blue harbour" } });
    expect(share.status()).toBe(201);
    const multi = await client.post("/api/v1/shares", { data: { file_ids: [fileId, other], expires_hours: 168 } });
    expect(multi.status()).toBe(201);
    const multiUrl = new URL((await multi.json()).share_url).pathname;
    const passwordUrl = new URL((await share.json()).share_url).pathname;
    const req = await client.post("/api/v1/requests", {
      data: { title: "Tax documents for 2026", message: "Please send the signed forms.", expires_hours: 72, max_files: 5 },
    });
    expect(req.status()).toBe(201);
    const requestUrl = new URL((await req.json()).url).pathname;
    const hook = await client.post("/api/v1/webhooks", { data: { url: "https://hooks.example.org/coffer/received" } });
    expect(hook.status(), await hook.text()).toBe(201);
    await client.dispose();

    const adminClient = await api(baseURL!, admin.email, admin.password);
    const users = await adminClient.get(`/api/v1/admin/users?q=${user.username}`);
    const userId = (await users.json())[0].id as string;
    await adminClient.dispose();
    const adminLogin = (await adminPage(browser)).context();
    const adminState = await adminLogin.storageState();
    await adminLogin.close();

    // A recipient who started a download: the page says so.
    const downloadOne = async (page: Page) => {
      await Promise.all([page.waitForEvent("download"), page.getByTestId("recipient-download").first().click()]);
      await expect(page.getByTestId("download-started")).toBeVisible();
    };
    const pages: {
      label: string;
      path: string;
      as: "visitor" | "user" | "admin";
      act?: (page: Page) => Promise<void>;
    }[] = [
      { label: "home-visitor", path: "/", as: "visitor" },
      { label: "login", path: "/login", as: "visitor" },
      { label: "register", path: "/register", as: "visitor" },
      { label: "not-found", path: "/no-such-page", as: "visitor" },
      { label: "recipient-password", path: passwordUrl, as: "visitor" },
      { label: "recipient-multi", path: multiUrl, as: "visitor" },
      { label: "recipient-started", path: multiUrl, as: "visitor", act: downloadOne },
      { label: "request-sender", path: requestUrl, as: "visitor" },
      { label: "home", path: "/", as: "user" },
      { label: "files", path: "/files", as: "user" },
      { label: "share-manage", path: `/files/${fileId}/share`, as: "user" },
      { label: "share-selected", path: `/shares/new?files=${fileId}&files=${other}`, as: "user" },
      { label: "requests", path: "/requests", as: "user" },
      { label: "security", path: "/settings/security", as: "user" },
      { label: "webhooks", path: "/settings/webhooks", as: "user" },
      { label: "admin", path: "/admin", as: "admin" },
      { label: "admin-users", path: "/admin/users", as: "admin" },
      { label: "admin-delete-user", path: `/admin/users/${userId}/delete`, as: "admin" },
      { label: "admin-files", path: "/admin/files", as: "admin" },
      { label: "admin-audit", path: "/admin/audit", as: "admin" },
    ];

    const failures: string[] = [];
    const contexts: Record<string, BrowserContext> = {};
    const open = async (as: string) =>
      (contexts[as] ??= await browser.newContext({
        viewport: mode.viewport,
        colorScheme: mode.colorScheme,
        storageState: as === "user" ? userState : as === "admin" ? adminState : undefined,
      }));
    for (const { label, path, as, act } of pages) {
      const page = await (await open(as)).newPage();
      try {
        await inspect(page, path, label, mode.name, act);
      } catch (e) {
        failures.push(String(e instanceof Error ? e.message : e).split("\n").slice(0, 12).join("\n"));
      }
      await page.close();
    }
    for (const context of Object.values(contexts)) await context.close();
    expect(failures, failures.join("\n\n")).toEqual([]);
  });
}
