import { resolveTarget } from "../../remote/control-plane-client.ts";
import type { Command } from "../flags.ts";
import { UsageError } from "../flags.ts";

export const workerCommand: Command = {
  summary:
    "Run retraining jobs from the control plane: train, publish a candidate, evaluate it against production",
  usage: `churn worker --control-plane <url> --token <token> [--once] [--poll <s>] [--time-budget <s>]

  --control-plane <url>   control plane (default: CHURN_CONTROL_PLANE_URL, or the local platform)
  --token <token>         needs retraining:run and models:publish: an API client's access token with both
                          scopes, or an ml-engineer's (or admin's, owner's) personal access token
                          (default: CHURN_TOKEN, CHURN_CLIENT_ID/SECRET, or the local platform's owner token)
  --once                  handle at most one job, then exit (exit 1 if it failed)
  --poll <s>              seconds between claims while no job is queued (default 30)
  --time-budget <s>       cap on the training budget (the policy's timeBudgetSeconds otherwise)
  --json                  one JSON line per job on stdout`,
  options: {
    "control-plane": { type: "string" },
    token: { type: "string" },
    once: { type: "boolean" },
    poll: { type: "string" },
    "time-budget": { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, io) {
    const seconds = (flag: string): number | undefined => {
      const text = values[flag];
      if (text === undefined) return undefined;
      const value = Number(text);
      if (String(text).trim() === "" || !Number.isFinite(value) || value <= 0)
        throw new UsageError(`--${flag} must be a positive number of seconds, got "${String(text)}"`);
      return value;
    };
    const pollSeconds = seconds("poll");
    const timeBudget = seconds("time-budget");
    const target = await resolveTarget({
      ...(typeof values["control-plane"] === "string" ? { url: values["control-plane"] } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      // Loaded on use: the worker brings the whole training stack with it.
      const { runWorker } = await import("../../worker/worker.ts");
      const outcomes = await runWorker({
        target,
        once: values.once === true,
        signal: stop.signal,
        ...(pollSeconds !== undefined ? { pollSeconds } : {}),
        ...(timeBudget !== undefined ? { timeBudget } : {}),
        log: (line) => io.err(`${line}\n`),
      });
      if (values.json) for (const o of outcomes) io.out(`${JSON.stringify(o)}\n`);
      else if (values.once && outcomes.length === 0) io.out("no retraining job queued\n");
      return outcomes.some((o) => o.status !== "completed") ? 1 : 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
