import { sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

export const models = sqliteTable(
  "models",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("models_tenant_name_uq").on(t.tenantId, t.name)],
);
export type ModelRow = typeof models.$inferSelect;
