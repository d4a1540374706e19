import { readFileSync } from "node:fs";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { HonoEnv } from "../env.ts";

// Read once at start-up: the assets ship with the source, so the docs page needs no CDN or build step.
const script = readFileSync(new URL("../docs/app.js", import.meta.url), "utf8");
const stylesheet = readFileSync(new URL("../docs/app.css", import.meta.url), "utf8");

/** The docs page's script and stylesheet, served same-origin so the page's strict CSP allows them. */
export function registerDocsAssets(app: OpenAPIHono<HonoEnv>): void {
  app.get("/docs/app.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "no-cache");
    return c.body(script);
  });
  app.get("/docs/app.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    c.header("cache-control", "no-cache");
    return c.body(stylesheet);
  });
}
