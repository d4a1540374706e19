#!/usr/bin/env node
// The CLI is TypeScript; Node >= 22.18 runs it directly by stripping types.
import { runCli } from "../trainer/src/cli/main.ts";

await runCli();
