import type { Role } from "../../platform/db/schema/users/index.ts";
import type { HonoEnv } from "../../platform/env.ts";

/** The signed-in person, as the console shows them; the principal beside it is what permissions check. */
export interface ConsoleUser {
  id: string;
  tenantId: string;
  tenantName: string;
  email: string;
  name: string;
  role: Role;
  sessionTokenId: string;
  sessionExpiresAt: number;
  /** Echoed by every form and script call that changes something. */
  csrfToken: string;
}

export interface ConsoleEnv {
  Variables: HonoEnv["Variables"] & { consoleUser: ConsoleUser };
}
