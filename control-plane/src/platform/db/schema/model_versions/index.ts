import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { models } from "../models/index.ts";
import { tenants } from "../tenants/index.ts";

/**
 * Immutable once written: a version is identified by its bytes' sha256 within its model. The bytes themselves
 * live in model_version_artifacts.
 */
export const modelVersions = sqliteTable(
  "model_versions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    modelId: text("model_id")
      .notNull()
      .references(() => models.id),
    version: integer("version").notNull(),
    sha256: text("sha256").notNull(),
    bytes: integer("bytes").notNull(),
    manifest: text("manifest").notNull(),
    publishedBy: text("published_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("model_versions_model_version_uq").on(t.modelId, t.version),
    uniqueIndex("model_versions_model_sha_uq").on(t.modelId, t.sha256),
    index("model_versions_tenant_idx").on(t.tenantId),
  ],
);
export type ModelVersionRow = typeof modelVersions.$inferSelect;
