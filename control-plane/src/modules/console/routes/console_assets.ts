import { readFileSync } from "node:fs";
import type { Hono } from "hono";
import type { ConsoleEnv } from "../env.ts";

// Read once at start-up: the console ships its own stylesheet and script, so it needs no CDN or build step.
const stylesheet = readFileSync(new URL("../assets/console.css", import.meta.url), "utf8");
const script = readFileSync(new URL("../assets/console.js", import.meta.url), "utf8");
const icon = readFileSync(new URL("../assets/favicon.svg", import.meta.url), "utf8");

/** The console's stylesheet and script, same-origin so the console's CSP allows them. */
export function registerConsoleAssets(app: Hono<ConsoleEnv>): void {
  app.get("/assets/console.css", (c) => {
    c.header("content-type", "text/css; charset=utf-8");
    c.header("cache-control", "no-cache");
    return c.body(stylesheet);
  });
  app.get("/assets/favicon.svg", (c) => {
    c.header("content-type", "image/svg+xml");
    c.header("cache-control", "max-age=86400");
    return c.body(icon);
  });
  app.get("/assets/console.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "no-cache");
    return c.body(script);
  });
}
