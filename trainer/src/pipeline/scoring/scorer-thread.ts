import { parentPort } from "node:worker_threads";
import type { ScoreReply, ScorerMessage } from "./scorer.ts";
import { openSessionScorer, type SessionScorer, warmUpRuntime } from "./session-scorer.ts";

/**
 * The scoring thread of scorer.ts: starts onnxruntime's runtime at once, opens the session when the graph
 * arrives, then scores batches in arrival order.
 */
const port = parentPort!;
// Only a head start: a runtime that fails here fails again, and is reported, when the graph is loaded.
const warm = warmUpRuntime().catch(() => undefined);
let opening: Promise<SessionScorer> | undefined;

const refusal = (stage: "load" | "score") => (error: unknown) => {
  port.postMessage({
    ok: false,
    stage,
    message: error instanceof Error ? error.message : String(error),
  } satisfies ScoreReply);
};

port.on("message", (message: ScorerMessage) => {
  if (message.kind === "load") {
    opening = warm.then(() => openSessionScorer(message.bytes, message.output));
    // Reported once per batch, so every caller waiting on one hears of it.
    opening.catch(() => undefined);
    return;
  }
  const session = opening ?? Promise.reject(new Error("no model was loaded before the first batch"));
  session.then(
    (s) =>
      s.score(message.batch).then((probability) => {
        // A view into a larger buffer cannot be transferred alone.
        const own =
          probability.byteOffset === 0 && probability.byteLength === probability.buffer.byteLength
            ? probability
            : probability.slice();
        port.postMessage({ ok: true, probability: own } satisfies ScoreReply, [own.buffer as ArrayBuffer]);
      }, refusal("score")),
    refusal("load"),
  );
});
