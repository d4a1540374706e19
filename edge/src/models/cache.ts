import { ChurnError } from "#shared/errors.ts";
import { type DeployedVersion, kvKeys } from "#shared/kv.ts";
import { buildModel, type LoadedModel } from "./loaded-model.ts";

/** Isolates have 128 MB; keep model bytes well under half of it. */
const MAX_CACHED_BYTES = 48 * 1024 * 1024;
/**
 * How long a failed load is remembered. A broken version would otherwise be re-read from KV and re-hashed
 * by every request while it stays deployed; a version that was only missing (KV still propagating) is
 * tried again after this.
 */
export const FAILED_LOAD_RETRY_MS = 5_000;

/**
 * Isolate-scope cache of loaded models, keyed by immutable version id (never by "latest"), LRU-bounded by
 * model size. Concurrent cold requests for one version share a single load; a failed load is remembered
 * for FAILED_LOAD_RETRY_MS.
 */
export class ModelCache {
  readonly #entries = new Map<string, Promise<LoadedModel>>();
  readonly #sizes = new Map<string, number>();
  readonly #failures = new Map<string, { error: unknown; at: number }>();
  readonly #maxBytes: number;

  constructor(maxBytes = MAX_CACHED_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Whether the version is loaded or loading in this isolate (a remembered failure does not count). */
  holds(versionId: string): boolean {
    return this.#entries.has(versionId);
  }

  get(kv: KVNamespace, ref: DeployedVersion): Promise<LoadedModel> {
    const failed = this.#failures.get(ref.versionId);
    if (failed) {
      if (Date.now() - failed.at < FAILED_LOAD_RETRY_MS) return Promise.reject(failed.error);
      this.#failures.delete(ref.versionId);
    }
    const hit = this.#entries.get(ref.versionId);
    if (hit) {
      this.#entries.delete(ref.versionId);
      this.#entries.set(ref.versionId, hit);
      return hit;
    }
    const loading = this.#load(kv, ref);
    this.#entries.set(ref.versionId, loading);
    loading.then(
      (model) => {
        this.#sizes.set(ref.versionId, model.bytes);
        this.#evict(ref.versionId);
      },
      (error: unknown) => {
        this.#entries.delete(ref.versionId);
        this.#failures.set(ref.versionId, { error, at: Date.now() });
      },
    );
    return loading;
  }

  async #load(kv: KVNamespace, ref: DeployedVersion): Promise<LoadedModel> {
    const [bytes, manifestText, explainer] = await Promise.all([
      kv.get(kvKeys.modelBytes(ref.versionId), "arrayBuffer"),
      kv.get(kvKeys.modelManifest(ref.versionId), "text"),
      kv.get(kvKeys.modelExplainer(ref.versionId), "arrayBuffer"),
    ]);
    if (!bytes || !manifestText) {
      throw new ChurnError(
        "MODEL_UNAVAILABLE",
        `Model version ${ref.versionId} is missing from the edge store`,
      );
    }
    return buildModel(ref.versionId, { bytes, manifestText, explainer }, ref.sha256);
  }

  #evict(keep: string): void {
    let total = 0;
    for (const size of this.#sizes.values()) total += size;
    for (const id of this.#entries.keys()) {
      if (total <= this.#maxBytes) break;
      if (id === keep) continue;
      const size = this.#sizes.get(id);
      if (size === undefined) continue; // still loading
      this.#entries
        .get(id)
        ?.then((m) => m.session.release())
        .catch(() => {});
      this.#entries.delete(id);
      this.#sizes.delete(id);
      total -= size;
    }
  }
}
