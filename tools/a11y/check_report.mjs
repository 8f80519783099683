#!/usr/bin/env node
// Run axe-core against an acap HTML report in headless Debian chromium (no browser download).
//
// Usage: node check_report.mjs path/to/report.html [--aaa] [--json out.json] [--screenshot prefix]
// Rules: WCAG 2.0/2.1/2.2 levels A and AA plus axe's best practices (--aaa adds WCAG AAA rules,
// e.g. 7:1 contrast); rules axe cannot decide alone are listed as "needs review", not failed.
// Exit code: 0 when no serious/critical violations, 1 when there are some, 2 on usage/launch errors.
// The browser is CHROMIUM_PATH, else /usr/bin/chromium.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

function usage(msg) {
  if (msg) console.error(msg);
  console.error("usage: node check_report.mjs REPORT.html [--aaa] [--json OUT.json] [--screenshot PREFIX]");
  process.exit(2);
}

const args = process.argv.slice(2);
let file = null, jsonOut = null, shotPrefix = null, aaa = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--json") jsonOut = args[++i];
  else if (args[i] === "--screenshot") shotPrefix = args[++i];
  else if (args[i] === "--aaa") aaa = true;
  else if (args[i] === "-h" || args[i] === "--help") usage();
  else if (!file) file = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!file) usage();
if (!existsSync(file)) usage(`no such file: ${file}`);

const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
if (!existsSync(executablePath)) usage(`no chromium at ${executablePath} (set CHROMIUM_PATH or apt-get install chromium)`);

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const axeVersion = JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let results;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The report is self-contained: refuse any network request so the check is offline and honest.
  await page.route(/^(https?|wss?):/, (route) => route.abort());
  await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: "load" });
  await page.addScriptTag({ content: axeSource });
  const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"].concat(aaa ? ["wcag2aaa"] : []);
  results = await page.evaluate(async (values) => {
    return await window.axe.run(document, { runOnly: { type: "tag", values }, resultTypes: ["violations", "incomplete"] });
  }, tags);
  if (shotPrefix) {
    await page.screenshot({ path: `${shotPrefix}-top.png` });
    const table = page.locator("table").first();
    if (await table.count()) {
      await table.evaluate((el) => el.scrollIntoView({ block: "start" }));
      await page.screenshot({ path: `${shotPrefix}-table.png` });
    }
  }
} finally {
  await browser.close();
}

const order = { critical: 0, serious: 1, moderate: 2, minor: 3 };
const violations = [...results.violations].sort((a, b) => (order[a.impact] ?? 9) - (order[b.impact] ?? 9));
console.log(`axe-core ${axeVersion} (${aaa ? "WCAG 2.2 A/AA/AAA" : "WCAG 2.2 A/AA"} + best practices) on ${file}: `
            + `${violations.length} rule(s) violated, ${results.passes.length} passed`);
for (const v of violations) {
  const ex = v.nodes[0]?.target?.join(" ") ?? "";
  console.log(`  [${v.impact}] ${v.id}: ${v.nodes.length} node(s), e.g. ${ex.slice(0, 120)}`);
  console.log(`      ${v.help} (${v.helpUrl})`);
}
const incomplete = results.incomplete.map((r) => `${r.id} (${r.nodes.length})`);
if (incomplete.length) console.log(`  needs review by a person (not failures): ${incomplete.join(", ")}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ axeVersion, violations, incomplete: results.incomplete }, null, 1));

const blocking = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
process.exit(blocking.length ? 1 : 0);
