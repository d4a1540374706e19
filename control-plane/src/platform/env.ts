import type { Principal } from "../modules/identity/permissions.ts";
import type { KeyRing } from "../modules/identity/signing-keys.ts";
import type { TokenIssueAudit } from "../modules/identity/token-issue-audit.ts";
import type { ModelValidator } from "../modules/registry/model-validation.ts";
import type { ProcessCaches } from "./caches.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { EdgeStore } from "./edge-store/edge-store.ts";
import type { ControlPlaneMetrics } from "./observability/metrics.ts";

/** Long-lived dependencies the app factory receives; tests build them against a real libSQL file. */
export interface Deps {
  config: Config;
  db: Db;
  keys: KeyRing;
  edge: EdgeStore;
  validator: ModelValidator;
  log: Logger;
  caches: ProcessCaches;
  /** `token.issue` entries, gathered and written to the audit log once per window. */
  tokenIssueAudit: TokenIssueAudit;
}

export interface Logger {
  info(event: Record<string, unknown>): void;
  error(event: Record<string, unknown>): void;
}

export interface HonoEnv {
  Variables: {
    requestId: string;
    deps: Deps;
    principal: Principal;
    metrics: ControlPlaneMetrics;
  };
}
