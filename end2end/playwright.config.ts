import { defineConfig } from "@playwright/test";

// The server is started by scripts/test.sh (or `cargo leptos end-to-end`); its URL comes in here.
const baseURL = process.env.COFFER_E2E_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One browser at a time: the test stages beside this one need the CPU too (with two, the
  // fleet's and PostgreSQL's timing-sensitive tests failed on a loaded two-core machine).
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "off",
    launchOptions: {
      // Debian's Chromium: Playwright's own browser downloads cannot work here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "hydrated", use: { javaScriptEnabled: true } },
    { name: "no-javascript", use: { javaScriptEnabled: false }, grep: /@nojs/ },
  ],
});
