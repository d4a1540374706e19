import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainToDirectory } from "../../trainer/src/pipeline/train.ts";
import { type HeadlessBrowser, launchChromium, screenshot } from "../helpers/browser.ts";
import { writeTelcoCsv } from "./fixtures.ts";

let dir: string;
let reportUrl: string;
let metrics: { holdout: Record<string, number> };
let chrome: HeadlessBrowser;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-report-"));
  const csv = path.join(dir, "customers.csv");
  await writeTelcoCsv(csv, 1500, 5);
  const out = path.join(dir, "model");
  await trainToDirectory({ data: csv, target: "Churn", positive: "Yes", out, seed: 5, timeBudget: 8 });
  reportUrl = pathToFileURL(path.join(out, "report.html")).href;
  metrics = JSON.parse(await readFile(path.join(out, "metrics.json"), "utf8"));
  chrome = await launchChromium();
});

afterAll(async () => {
  await chrome?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Opens the report, recording console errors and any request that leaves the file. */
async function open(
  width: number,
  height: number,
): Promise<{ page: Page; errors: string[]; external: string[] }> {
  const page = await chrome.browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  const external: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) external.push(r.url());
  });
  await page.goto(reportUrl, { waitUntil: "load" });
  return { page, errors, external };
}

describe("report.html in a real browser", () => {
  it("renders every chart with drawn marks, self-contained and without errors", async () => {
    const { page, errors, external } = await open(1280, 900);
    const charts = await page.$$eval("figure.chart svg", (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        return {
          label: svg.getAttribute("aria-label"),
          width: box.width,
          height: box.height,
          marks: svg.querySelectorAll("path, rect, circle, polyline, line").length,
        };
      }),
    );
    expect(charts.length).toBeGreaterThanOrEqual(4);
    for (const chart of charts) {
      expect(chart.width, `${chart.label} width`).toBeGreaterThan(150);
      expect(chart.height, `${chart.label} height`).toBeGreaterThan(80);
      expect(chart.marks, `${chart.label} marks`).toBeGreaterThan(3);
    }
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await screenshot(page, "report-desktop");
    await page.close();
  });

  it("shows the holdout metrics metrics.json reports", async () => {
    const { page } = await open(1280, 900);
    const cards = await page.$$eval(".card", (els) =>
      Object.fromEntries(
        els.map((el) => [el.querySelector(".label")?.textContent, el.querySelector(".value")?.textContent]),
      ),
    );
    const auc = metrics.holdout["roc_auc"]!;
    expect(Number(cards["ROC-AUC"])).toBeCloseTo(auc, 3);
    expect(Number(cards["Log loss"])).toBeCloseTo(metrics.holdout["log_loss"]!, 4);
    const headings = await page.$$eval("section > h2", (hs) => hs.map((h) => h.textContent));
    expect(headings).toContain("Summary");
    expect(headings.length).toBeGreaterThanOrEqual(5);
    await page.close();
  });

  it("fits a phone screen: no sideways scrolling of the page itself", async () => {
    const { page } = await open(390, 844);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(page, "report-phone");
    await page.close();
  });
});
