import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Failed client-secret checks per client id and source address within a window, shared by every
 * control-plane process on the database. A source that guesses wrong is locked out; the real client,
 * calling from elsewhere, is not. `client_id = '*'` counts one source's failures across all client ids.
 */
export const authFailures = sqliteTable(
  "auth_failures",
  {
    clientId: text("client_id").notNull(),
    source: text("source").notNull(),
    failures: integer("failures").notNull(),
    windowStart: integer("window_start").notNull(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.source] })],
);
