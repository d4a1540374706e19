#!/usr/bin/env node
// The CLI is TypeScript; Node >= 22.18 runs it directly by stripping types.
import module from "node:module";

// Node's compile cache keeps stripped and compiled modules on disk (under the OS temp directory unless
// NODE_COMPILE_CACHE names one; NODE_DISABLE_COMPILE_CACHE=1 turns it off), so every run after the first
// starts in a fraction of the time. Worker threads inherit it through the environment.
const cache = module.enableCompileCache?.();
if (cache?.directory && process.env.NODE_COMPILE_CACHE === undefined) {
  process.env.NODE_COMPILE_CACHE = cache.directory;
}
const { runCli } = await import("../trainer/src/cli/main.ts");

await runCli();
