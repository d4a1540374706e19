import { z } from "zod";
import { metricsSchema } from "./manifest.ts";

export const MAX_EXPERIMENT_RUNS = 500;

/** One candidate a training run evaluated, as the trainer reports it at publish time. */
export const experimentRunInputSchema = z.object({
  family: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "lowercase letters, digits, _ and -, at most 64"),
  params: z.record(z.string(), z.unknown()),
  cvMetrics: metricsSchema,
  seconds: z
    .number()
    .nonnegative()
    .max(31 * 86_400),
});
export type ExperimentRunInput = z.infer<typeof experimentRunInputSchema>;

/** The publish route's optional `runs` form field: a JSON array of runs. */
export const experimentRunsInputSchema = z.array(experimentRunInputSchema).max(MAX_EXPERIMENT_RUNS);

export const experimentRunSchema = experimentRunInputSchema
  .extend({ id: z.string(), modelVersionId: z.string().nullable(), createdAt: z.string() })
  .meta({ id: "ExperimentRun" });
export type ExperimentRun = z.infer<typeof experimentRunSchema>;

export const experimentRunListSchema = z
  .object({ runs: z.array(experimentRunSchema) })
  .meta({ id: "ExperimentRunList" });
