import type { OpenAPIHono } from "@hono/zod-openapi";
import type { HonoEnv } from "../env.ts";

/** Only same-origin script and style: the page works offline and nothing injected can run. */
export const DOCS_CSP = "default-src 'self'; script-src 'self'; style-src 'self'";

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Churn control plane API</title>
<link rel="stylesheet" href="/docs/app.css">
<script src="/docs/app.js" defer></script>
</head>
<body>
<h1 id="title">Churn control plane API</h1>
<p>Rendered from <a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
<main id="api"><p>Loading…</p></main>
</body>
</html>
`;

/** A human-readable view of the OpenAPI document; the script at /docs/app.js renders it in the browser. */
export function registerDocsPage(app: OpenAPIHono<HonoEnv>): void {
  app.get("/docs", (c) => {
    c.header("content-security-policy", DOCS_CSP);
    c.header("x-content-type-options", "nosniff");
    return c.html(page);
  });
}
