import type { Context } from "hono";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { isAllowed, type Permission, type Principal } from "../identity/permissions.ts";
import type { ConsoleEnv, ConsoleUser } from "./env.ts";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * Same-origin script and style only, no inline code (SVG charts use presentation attributes, not style
 * attributes), no framing of the console, forms post only here. Frames may show this origin only: the
 * sandboxed training reports on the Models page.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; " +
  "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function securityHeaders(c: Context): void {
  c.header("content-security-policy", CONSOLE_CSP);
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "same-origin");
  c.header("x-frame-options", "DENY");
}

export interface NavItem {
  id: string;
  label: string;
  href: string;
  permission: Permission;
  icon: string;
}

/** The console's sections, each shown only to roles whose permission the server also checks. */
export const NAV: readonly NavItem[] = [
  {
    id: "overview",
    label: "Overview",
    href: "/console/overview",
    permission: "deployments:read",
    icon: "M3 12h4l3-8 4 16 3-8h4",
  },
  {
    id: "business",
    label: "Business",
    href: "/console/business",
    permission: "monitoring:read",
    icon: "M4 19V9m6 10V5m6 14v-7m4 7H2",
  },
  {
    id: "models",
    label: "Models",
    href: "/console/models",
    permission: "models:read",
    icon: "M12 3l8 4.5v9L12 21l-8-4.5v-9zM12 12l8-4.5M12 12v9M12 12L4 7.5",
  },
  {
    id: "monitoring",
    label: "Monitoring",
    href: "/console/monitoring",
    permission: "monitoring:read",
    icon: "M3 3v18h18M7 15l4-4 3 3 5-6",
  },
  {
    id: "usage",
    label: "Usage",
    href: "/console/usage",
    permission: "monitoring:read",
    icon: "M4 20h16M6 16V9m6 7V4m6 12v-5",
  },
  {
    id: "audit",
    label: "Audit log",
    href: "/console/audit",
    permission: "audit:read",
    icon: "M12 3l7 3v6c0 4-3 7.5-7 9-4-1.5-7-5-7-9V6zM9 12l2 2 4-4",
  },
  {
    id: "clients",
    label: "API clients",
    href: "/console/clients",
    permission: "clients:read",
    icon: "M15 7a4 4 0 11-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0115 7z",
  },
  {
    id: "tokens",
    label: "Access tokens",
    href: "/console/tokens",
    permission: "tokens:self",
    icon: "M4 6h16v12H4zM8 10h5M8 14h3M16 10v4",
  },
];

/** Where a person lands after signing in: the first section their role may open. */
export function homeFor(principal: Principal): string {
  return NAV.find((item) => isAllowed(principal, item.permission))?.href ?? "/console/account";
}

const icon = (path: string) =>
  html`<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="${path}"/></svg>`;

export const LOGO = html`<svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="8"/><path d="M8 20c3-8 6-8 8-4s5 4 8-4" /></svg>`;

export interface PageOptions {
  title: string;
  active: string;
  body: Html;
  /** Notice shown above the content, e.g. after an action succeeded. */
  flash?: { kind: "ok" | "error"; text: string } | undefined;
}

const ROLE_LABEL: Record<ConsoleUser["role"], string> = {
  owner: "Owner",
  admin: "Admin",
  "ml-engineer": "ML engineer",
  analyst: "Analyst",
  auditor: "Auditor",
};

export function page(c: Context<ConsoleEnv>, options: PageOptions): Html {
  const user = c.get("consoleUser");
  const principal = c.get("principal");
  const items = NAV.filter((item) => isAllowed(principal, item.permission));
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Churn console</title>
<link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div class="shell">
<header class="topbar">
  <a class="brand" href="/console">${LOGO}<span>Churn</span></a>
  <span class="tenant" title="Tenant">${user.tenantName}</span>
  <div class="me">
    <span class="who"><span class="name">${user.name}</span><span class="role role-${user.role}">${ROLE_LABEL[user.role]}</span></span>
    <form method="post" action="/console/sign-out">
      <input type="hidden" name="_csrf" value="${user.csrfToken}">
      <button class="btn btn-ghost" type="submit">Sign out</button>
    </form>
  </div>
</header>
<nav class="sidenav" aria-label="Sections">
  <ul>
    ${items.map(
      (item) =>
        html`<li><a href="${item.href}"${item.id === options.active ? html` aria-current="page"` : ""}>${icon(item.icon)}<span>${item.label}</span></a></li>`,
    )}
  </ul>
</nav>
<main id="main" tabindex="-1">
  ${options.flash ? html`<div class="flash flash-${options.flash.kind}" role="${options.flash.kind === "error" ? "alert" : "status"}">${options.flash.text}</div>` : ""}
  ${options.body}
</main>
</div>
</body>
</html>`;
}

/** A page for people who are not signed in (sign-in itself, errors before a session exists). */
export function barePage(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Churn console</title>
<link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body class="bare">
<main id="main" class="bare-main">
  <div class="bare-card">
    <div class="bare-brand">${LOGO}<span>Churn console</span></div>
    ${body}
  </div>
</main>
</body>
</html>`;
}

/** Hidden CSRF field for forms that change something. */
/** The hidden field every form that changes something carries (views get the token in their data). */
export const csrfInput = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;
export const csrfField = (c: Context<ConsoleEnv>) => csrfInput(c.get("consoleUser").csrfToken);

export function pageHeader(title: string, lead?: Html | string, actions?: Html | string): Html {
  return html`<div class="page-head"><div><h1>${title}</h1>${lead ? html`<p class="lead">${lead}</p>` : ""}</div>${actions ? html`<div class="page-actions">${actions}</div>` : ""}</div>`;
}

/** A key figure: its label and value, then anything shown beside the value, then a note. */
export function statCard(o: {
  label: string;
  value: Html | string;
  note?: Html | string;
  after?: Html | string;
  testId?: string;
  muted?: boolean;
}): Html {
  const testId = o.testId ? html` data-testid="${o.testId}"` : "";
  const note = o.note === undefined ? "" : html`<span class="stat-note">${o.note}</span>`;
  return html`<div class="stat"><span class="stat-label">${o.label}</span><span class="stat-value${o.muted ? " muted" : ""}"${testId}>${o.value}</span>${o.after ?? ""}${note}</div>`;
}

export function emptyState(title: string, text: Html | string, action?: Html): Html {
  return html`<div class="empty"><svg class="empty-icon" viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="20"/><path d="M16 26h16M18 20h.01M30 20h.01"/></svg><h2>${title}</h2><p>${text}</p>${action ?? ""}</div>`;
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString("en-US"),
  pct: (n: number, digits = 1) => `${(n * 100).toFixed(digits)} %`,
  num: (n: number, digits = 3) => n.toFixed(digits),
  money: (n: number) =>
    `${n < 0 ? "−" : ""}$${Math.abs(n).toLocaleString("en-US", { maximumFractionDigits: Math.abs(n) >= 100 ? 0 : 2 })}`,
  date: (iso: string) => {
    const d = new Date(iso);
    return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
  },
};
