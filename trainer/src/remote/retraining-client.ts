import { ChurnError, type ErrorCode, errorEnvelopeSchema } from "#shared/errors.ts";
import {
  type Candidate,
  type CompleteRequest,
  candidateSchema,
  heartbeatResponseSchema,
  type LabeledRecords,
  labeledRecordsSchema,
  type RetrainingClaim,
  retrainingClaimSchema,
} from "#shared/retraining.ts";
import type { ControlPlaneTarget } from "./control-plane-client.ts";

/** The control plane's retraining routes, as a worker calls them. Every answer is checked with zod. */
export class RetrainingClient {
  readonly target: ControlPlaneTarget;

  constructor(target: ControlPlaneTarget) {
    this.target = target;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.target.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (cause) {
      throw new ChurnError(
        "UNAVAILABLE",
        `Control plane unreachable at ${this.target.url}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (res.ok) return res;
    const envelope = errorEnvelopeSchema.safeParse(await res.json().catch(() => null));
    if (envelope.success) {
      throw new ChurnError(
        envelope.data.error.code as ErrorCode,
        `${envelope.data.error.message} (HTTP ${res.status})`,
      );
    }
    throw new ChurnError("UNAVAILABLE", `Control plane answered HTTP ${res.status} to ${method} ${path}`);
  }

  /** The next job under a fresh lease, or null when there is nothing to do. */
  async claim(worker: string): Promise<RetrainingClaim | null> {
    const res = await this.call("POST", "/v1/retraining/jobs/claim", { worker });
    if (res.status === 204) return null;
    return retrainingClaimSchema.parse(await res.json());
  }

  async heartbeat(jobId: string, leaseToken: string): Promise<string> {
    const res = await this.call("POST", `/v1/retraining/jobs/${jobId}/heartbeat`, { leaseToken });
    return heartbeatResponseSchema.parse(await res.json()).leaseExpiresAt;
  }

  async records(jobId: string): Promise<LabeledRecords> {
    const res = await this.call("GET", `/v1/retraining/jobs/${jobId}/records`);
    return labeledRecordsSchema.parse(await res.json());
  }

  async productionModel(jobId: string): Promise<Uint8Array> {
    const res = await this.call("GET", `/v1/retraining/jobs/${jobId}/production-model`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async complete(jobId: string, report: CompleteRequest): Promise<Candidate> {
    const res = await this.call("POST", `/v1/retraining/jobs/${jobId}/complete`, report);
    return candidateSchema.parse(await res.json());
  }

  async fail(jobId: string, leaseToken: string, reason: string): Promise<void> {
    await this.call("POST", `/v1/retraining/jobs/${jobId}/fail`, {
      leaseToken,
      reason: reason.slice(0, 2000),
    });
  }
}
