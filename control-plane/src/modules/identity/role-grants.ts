import { ChurnError } from "#shared/errors.ts";
import type { Role } from "#shared/identity.ts";
import { type Principal, permissionsLackedFor } from "./permissions.ts";

/** Refuses (403) when `actor` lacks any permission `role` holds; `verb` says what was attempted. */
export function assertMayActOnRole(actor: Principal, role: Role, verb: string): void {
  const lacked = permissionsLackedFor(actor, role);
  if (lacked.length > 0) {
    throw new ChurnError(
      "FORBIDDEN",
      `You cannot ${verb} the role '${role}': it holds permissions you lack (${lacked.join(", ")})`,
    );
  }
}
