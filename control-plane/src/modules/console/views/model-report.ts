import { html } from "hono/html";
import { type PageOptions, pageHeader } from "../layout.ts";

/** Where the console serves a version's report bytes, for the frame and for opening it on its own. */
export const reportHref = (name: string, version: number) =>
  `/console/models/${encodeURIComponent(name)}/versions/${version}/report.html`;

/** The page that shows a version's report, a link away from its row on the Models page. */
export const reportPageHref = (name: string, version: number) =>
  `/console/models/${encodeURIComponent(name)}/versions/${version}/report`;

/**
 * A version's training report inside the console. The frame is sandboxed with no permissions (no script,
 * no forms, an opaque origin) and its document carries its own CSP, so a report can only be looked at.
 */
export function modelReportView(name: string, version: number): PageOptions {
  const models = `/console/models?model=${encodeURIComponent(name)}`;
  return {
    title: `Report of ${name} v${version}`,
    active: "models",
    body: html`${pageHeader(
      `Report of ${name} v${version}`,
      html`The trainer's report, stored with the version when it was published.`,
      html`<a class="btn btn-secondary" href="${models}">Back to versions</a><a class="btn btn-ghost" href="${reportHref(name, version)}" target="_blank" rel="noopener">Open on its own</a>`,
    )}
<nav class="tabs" aria-label="Version v${version}">
  <a href="${models}">Versions</a>
  <a href="${reportPageHref(name, version)}" aria-current="page">Report</a>
</nav>
<iframe class="report-frame" src="${reportHref(name, version)}" sandbox="" title="Training report of ${name} v${version}" loading="eager"></iframe>`,
  };
}
