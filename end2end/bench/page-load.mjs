// Page-load benchmark (scripts/bench.sh, part "page"): how long a first visit takes until the
// page is interactive, in Debian's Chromium, with a cold browser cache and then a warm one.
//
// "Interactive" is the `coffer-hydrated` performance mark the wasm entry point sets once
// hydration has attached every handler (coffer-front/src/lib.rs); on a page sent without the wasm (sign-in,
// a share link's: `served_without_wasm` in src/app/mod.rs) it is the end of DOMContentLoaded.
// Both are measured from navigation start.
// Each page is loaded in a new browser context (an empty cache) RUNS times, on loopback and on
// an emulated 10 Mbit/s, 40 ms link; the figures are medians.
//
//   node end2end/bench/page-load.mjs BASE EMAIL PASSWORD RUNS PATH…
// prints one JSON object per (path, network): {path, network, cold_ms, warm_ms, dcl_ms,
// wasm_bytes, wasm_files, wasm_encoding, warm_wasm_bytes}. The wasm counted is all of it the page
// fetched: the main module and the split-off pieces (`cargo leptos --split`) its route needed.
import { chromium } from "@playwright/test";

const [base, email, password, runsArg, ...paths] = process.argv.slice(2);
const runs = Number(runsArg);
const networks = {
  loopback: null,
  "10 Mbit/s, 40 ms": { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8 },
};

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});

// A signed-in session for the pages that need one, by the login form as a user would.
const login = await browser.newContext({ baseURL: base });
const loginPage = await login.newPage();
await loginPage.goto("/login");
await loginPage.getByLabel("Email").fill(email);
await loginPage.getByLabel("Password").fill(password);
await loginPage.getByRole("button", { name: "Sign in" }).click();
await loginPage.waitForURL((url) => !url.pathname.startsWith("/login"));
const storageState = await login.storageState();
await login.close();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function visit(page, path) {
  await page.goto(path, { waitUntil: "commit" });
  await page
    .waitForFunction(
      () =>
        document.querySelector("script[type=module]")
          ? performance.getEntriesByName("coffer-hydrated").length > 0
          : performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd > 0,
      null,
      { timeout: 60_000 },
    )
    .catch((e) => {
      throw new Error(`${path} on ${page.url()} was not interactive within 60 s: ${e.message}`);
    });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const wasm = performance.getEntriesByType("resource").filter((r) => r.name.endsWith(".wasm"));
    const mark = performance.getEntriesByName("coffer-hydrated")[0];
    return {
      hydrated: mark ? mark.startTime : nav.domContentLoadedEventEnd,
      dcl: nav.domContentLoadedEventEnd,
      wasmBytes: wasm.reduce((sum, r) => sum + r.transferSize, 0),
      wasmFiles: wasm.length,
    };
  });
}

for (const path of paths) {
  for (const [network, conditions] of Object.entries(networks)) {
    const cold = [], warm = [], dcl = [];
    let wasmBytes = 0, wasmFiles = 0, warmWasmBytes = 0, encoding = "";
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ baseURL: base, storageState });
      const page = await context.newPage();
      if (conditions) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", conditions);
      }
      page.on("response", (res) => {
        if (res.url().endsWith(".wasm")) encoding = res.headers()["content-encoding"] ?? "identity";
      });
      const first = await visit(page, path);
      const second = await visit(page, path);
      cold.push(first.hydrated);
      dcl.push(first.dcl);
      warm.push(second.hydrated);
      wasmBytes = first.wasmBytes;
      wasmFiles = first.wasmFiles;
      warmWasmBytes = second.wasmBytes;
      await context.close();
    }
    console.log(
      JSON.stringify({
        path, network, cold_ms: median(cold), warm_ms: median(warm), dcl_ms: median(dcl),
        wasm_bytes: wasmBytes, wasm_files: wasmFiles, wasm_encoding: encoding, warm_wasm_bytes: warmWasmBytes,
      }),
    );
  }
}
await browser.close();
