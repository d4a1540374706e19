import { integer } from "drizzle-orm/sqlite-core";

/** Timestamps are epoch milliseconds; ISO strings are produced only at the API boundary. */
export const createdAt = () => integer("created_at").notNull();
export const timestampMs = (name: string) => integer(name);
