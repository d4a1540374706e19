import { type ZodType, z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { MAX_BINS } from "../models/gbdt/binning.ts";
import { GBDT_DEFAULTS, type GbdtParams } from "../models/gbdt/params.ts";
import {
  type Candidate,
  candidateOf,
  FIRST_FOREST,
  type SearchFamily,
  type SpaceOptions,
} from "./candidates.ts";

/**
 * Fixed hyper-parameters: one family's settings given instead of searched (`churn train --params`). The
 * candidate is cross-validated as any other (the calibration is chosen on its out-of-fold margins) and then
 * fitted on all training rows, always at its exact length: no early stopping, no seed bagging, and the time
 * budget cuts no trees, so a run with the same data, settings and seed gives the same model.
 *
 * Keys are checked here rather than left to each model's own checks so that a mistyped or out-of-range key
 * is refused, by name, before any data is read. The bounds are wider than any useful setting and only
 * refuse what no run could honour or what would build a model too large to serve.
 */

/** Most trees (GBDT, forest) or epochs (MLP) a fixed run may ask for. */
const MAX_ROUNDS = 10_000;
/** Deepest tree: 2^17 nodes per tree is already far past what churn tables support. */
const MAX_DEPTH = 16;
const MAX_LEAVES = 4096;
const MAX_NUMERIC_BINS = 100;

const share = z.number().gt(0).max(1);
const penalty = z.number().min(0);
const maxCategories = z.int().min(1).max(10_000);
const numericBins = z.int().min(0).max(MAX_NUMERIC_BINS);

/** The tree shape and sampling both tree families take. */
const treeShape = {
  growth: z.enum(["depthwise", "lossguide"]),
  maxDepth: z.int().min(0).max(MAX_DEPTH),
  maxLeaves: z
    .int()
    .min(0)
    .max(MAX_LEAVES)
    .refine((n) => n !== 1, "must be 0 (unlimited) or at least 2"),
  maxBins: z.int().min(2).max(MAX_BINS),
  lambda: penalty,
  gamma: penalty,
  minChildWeight: penalty,
  subsample: share,
  colsampleByTree: share,
  scalePosWeight: z.number().gt(0),
  maxCategories,
};

const gbdtSchema = z.strictObject({
  rounds: z.int().min(1).max(MAX_ROUNDS),
  learningRate: share,
  ...treeShape,
});

/** A forest's learning rate is 1 / trees (its leaves are averaged), so it is not a setting. */
const forestSchema = z.strictObject({
  rounds: z.int().min(1).max(MAX_ROUNDS),
  ...treeShape,
});

const mlpSchema = z.strictObject({
  hidden: z.int().min(1).max(1024),
  l2: penalty,
  learningRate: share,
  batchSize: z.int().min(1).max(65_536),
  epochs: z.int().min(1).max(MAX_ROUNDS),
  numericBins,
  maxCategories,
});

const logisticSchema = z.strictObject({
  l2: z.number().gt(0),
  l1: penalty,
  numericBins,
  maxIterations: z.int().min(1).max(MAX_ROUNDS),
  tolerance: z.number().gt(0).max(1),
  maxCategories,
});

const SCHEMAS: Record<SearchFamily, z.ZodObject> = {
  gbdt: gbdtSchema,
  random_forest: forestSchema,
  mlp: mlpSchema,
  logistic_regression: logisticSchema,
};

/** The keys `family` takes, for help and error messages. */
export function fixedParamKeys(family: SearchFamily): string[] {
  return Object.keys(SCHEMAS[family].shape);
}

/**
 * Checks `given` (parsed JSON) against `family`'s keys and bounds and builds the candidate: keys left out
 * take the defaults the search starts from (GBDT: GBDT_DEFAULTS, so 500 trees of depth 3; forest: 200
 * trees of depth 8).
 */
export function fixedCandidate(family: SearchFamily, given: unknown, space: SpaceOptions): Candidate {
  const params = parseOrThrow(family, SCHEMAS[family].partial(), given);
  const maxCats = (params["maxCategories"] as number | undefined) ?? space.maxCategories;
  const options: SpaceOptions = { ...space, ...(maxCats !== undefined ? { maxCategories: maxCats } : {}) };
  switch (family) {
    case "gbdt": {
      const p = params as Partial<GbdtParams>;
      checkTreeBound(family, { ...GBDT_DEFAULTS, ...p });
      return candidateOf(
        {
          family,
          params: { rounds: GBDT_DEFAULTS.rounds, ...p, earlyStoppingRounds: 0, refit: false },
        },
        options,
      );
    }
    case "random_forest": {
      const p = params as Partial<GbdtParams>;
      const forest = candidateOf(
        {
          family,
          params: {
            ...FIRST_FOREST,
            ...p,
            ...(p.rounds !== undefined ? { learningRate: 1 / p.rounds } : {}),
          },
        },
        options,
      );
      checkTreeBound(family, forest.params as GbdtParams);
      return forest;
    }
    case "mlp":
      // patience 0: every epoch asked for is trained, none held out to stop early.
      return candidateOf({ family, params: { ...params, patience: 0 } }, options);
    case "logistic_regression":
      return candidateOf({ family, params }, options);
  }
}

/** Trees (GBDT, forest) or epochs (MLP) the candidate fits on every fold and in the final fit. */
export function exactLength(candidate: Candidate): number | undefined {
  if (candidate.family === "gbdt" || candidate.family === "random_forest") return candidate.params.rounds;
  if (candidate.family === "mlp") return candidate.params.epochs;
  return undefined;
}

function parseOrThrow(family: SearchFamily, schema: ZodType, given: unknown): Record<string, unknown> {
  const result = schema.safeParse(given);
  if (result.success) return result.data as Record<string, unknown>;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    fail(family, `unknown key ${keys}; ${family} takes ${fixedParamKeys(family).join(", ")}`);
  }
  if (issue.path.length === 0) fail(family, `expected a JSON object of ${fixedParamKeys(family).join(", ")}`);
  const value = issue.path.reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown>)?.[key], given);
  fail(family, `"${issue.path.join(".")}" ${describeIssue(issue)}, got ${JSON.stringify(value)}`);
}

/** Zod's messages ("Too big: expected number to be <=16") as one clause naming the value's bound. */
function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.message.replace(/^Invalid input: /, "").replace(/^Too (big|small): /, "");
}

/** Bounds that depend on two keys at once (the model's own check would name neither as a key). */
function checkTreeBound(family: SearchFamily, p: GbdtParams): void {
  if (p.maxDepth === 0 && p.maxLeaves === 0)
    fail(family, `"maxDepth" 0 (unlimited) needs "maxLeaves": trees need a bound`);
  if (p.growth === "lossguide" && p.maxLeaves === 0) fail(family, `"growth" "lossguide" needs "maxLeaves"`);
}

function fail(family: SearchFamily, message: string): never {
  throw new ChurnError("INVALID_REQUEST", `Model params for ${family}: ${message}`);
}
