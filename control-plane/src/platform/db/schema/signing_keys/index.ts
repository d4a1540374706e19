import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt, timestampMs } from "../columns.ts";

/** Platform-wide token signing keys. A key is published before it signs and kept until its tokens expire. */
export const signingKeys = sqliteTable("signing_keys", {
  kid: text("kid").primaryKey(),
  alg: text("alg").notNull(),
  publicJwk: text("public_jwk").notNull(),
  privateJwk: text("private_jwk").notNull(),
  activatedAt: timestampMs("activated_at"),
  retiredAt: timestampMs("retired_at"),
  createdAt: createdAt(),
});
export type SigningKeyRow = typeof signingKeys.$inferSelect;
