import type { User } from "#shared/identity.ts";
import { toIso } from "#shared/time.ts";
import type { UserRow } from "../../platform/db/schema/index.ts";

/** A user row as the API shows it: ISO times, and a status derived from the lifecycle columns. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    oidc:
      row.oidcIssuer !== null && row.oidcSubject !== null
        ? { issuer: row.oidcIssuer, subject: row.oidcSubject }
        : null,
    status:
      row.deletedAt !== null
        ? "deleted"
        : row.disabledAt !== null
          ? "disabled"
          : row.activatedAt === null
            ? "invited"
            : "active",
    createdAt: toIso(row.createdAt),
  };
}
