/**
 * Times one benchmark on this tree and on an earlier commit, side by side in one sitting:
 *
 *   node bench/against.ts --ref <commit> --bench bench/control-plane.ts \
 *     --result control-plane.json --metric tokenIssuance.requestsPerSec [--repeats 3]
 *
 * The earlier commit is checked out into a temporary git worktree sharing this tree's node_modules. Runs
 * alternate (earlier, current, earlier, …) so a busy machine slows both sides alike; each run's figure is
 * read from the JSON the benchmark writes under its tree's bench/results/. Prints every figure, both medians
 * and the ratio current / earlier.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    ref: { type: "string" },
    bench: { type: "string" },
    result: { type: "string" },
    metric: { type: "string" },
    repeats: { type: "string", default: "3" },
  },
});
if (!values.ref || !values.bench || !values.result || !values.metric) {
  console.error(
    "usage: node bench/against.ts --ref <commit> --bench <file> --result <json> --metric <a.b.c>",
  );
  process.exit(2);
}
const here = resolve(import.meta.dirname, "..");
const repeats = Number(values.repeats);

function git(args: string[]): string {
  const run = spawnSync("git", args, { cwd: here, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`git ${args.join(" ")}: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

function metricOf(tree: string): number {
  const json = JSON.parse(readFileSync(join(tree, "bench", "results", values.result!), "utf8")) as unknown;
  const value = values
    .metric!.split(".")
    .reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], json);
  if (typeof value !== "number")
    throw new Error(`${values.metric} is not a number in ${tree}'s ${values.result}`);
  return value;
}

function runIn(tree: string): number {
  const run = spawnSync(process.execPath, [values.bench!], {
    cwd: tree,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (run.status !== 0) throw new Error(`${values.bench} failed in ${tree} (exit ${run.status})`);
  return metricOf(tree);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const commit = git(["rev-parse", "--short", values.ref]);
const earlierTree = mkdtempSync(join(tmpdir(), "churn-against-"));
git(["worktree", "add", "--detach", earlierTree, commit]);
try {
  symlinkSync(join(here, "node_modules"), join(earlierTree, "node_modules"));
  const earlier: number[] = [];
  const current: number[] = [];
  for (let i = 0; i < repeats; i++) {
    earlier.push(runIn(earlierTree));
    current.push(runIn(here));
    console.log(`run ${i + 1}: ${commit} ${earlier.at(-1)}, current ${current.at(-1)}`);
  }
  const summary = {
    metric: values.metric,
    bench: values.bench,
    earlier: { commit, runs: earlier, median: median(earlier) },
    current: { commit: git(["rev-parse", "--short", "HEAD"]), runs: current, median: median(current) },
    ratio: Number((median(current) / median(earlier)).toFixed(3)),
  };
  console.log(JSON.stringify(summary, null, 2));
} finally {
  git(["worktree", "remove", "--force", earlierTree]);
  rmSync(earlierTree, { recursive: true, force: true });
}
