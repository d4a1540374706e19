import { blob, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { modelVersions } from "../model_versions/index.ts";

/**
 * A version's bytes, apart from its metadata: a row holding a megabyte blob makes SQLite walk the blob's
 * overflow pages to reach any column stored after it, so listing versions beside their blobs cost ~25 ms
 * for 30 one-megabyte models. Only deployment (pushing bytes to the edge) reads this table.
 */
export const modelVersionArtifacts = sqliteTable("model_version_artifacts", {
  modelVersionId: text("model_version_id")
    .primaryKey()
    .references(() => modelVersions.id),
  onnx: blob("onnx", { mode: "buffer" }).notNull(),
  /** Explainer package (JSON) for tree and MLP models; null when the graph outputs contributions itself. */
  explainer: blob("explainer", { mode: "buffer" }),
  /**
   * The trainer's report.html (UTF-8, self-contained); null when the version was published without one.
   * Listings ask only whether it is there (`typeof`), which SQLite answers from the record header.
   */
  report: blob("report", { mode: "buffer" }),
});
export type ModelVersionArtifactRow = typeof modelVersionArtifacts.$inferSelect;
