import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { modelVersions } from "../model_versions/index.ts";
import { tenants } from "../tenants/index.ts";

/** The candidate models a training run tried (family, parameters, cross-validated metrics) before it chose one. */
export const experimentRuns = sqliteTable(
  "experiment_runs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** The version these runs led to; nullable so runs can be recorded before (or without) a publish. */
    modelVersionId: text("model_version_id").references(() => modelVersions.id),
    family: text("family").notNull(),
    /** JSON object of hyperparameters. */
    params: text("params").notNull(),
    /** JSON object of cross-validated metrics. */
    metrics: text("metrics").notNull(),
    seconds: real("seconds").notNull(),
    /** 0-based place in the list the trainer reported, which is the order runs are shown in. */
    position: integer("position").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("experiment_runs_version_idx").on(t.modelVersionId),
    index("experiment_runs_tenant_idx").on(t.tenantId),
  ],
);
export type ExperimentRunRow = typeof experimentRuns.$inferSelect;
