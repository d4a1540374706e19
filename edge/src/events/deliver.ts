import { type EdgeEvent, edgeEventSchema } from "#shared/events.ts";
import { controlPlaneLocationSchema, kvKeys } from "#shared/kv.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import type { Bindings } from "../env.ts";

const MAX_RETRY_DELAY_SECONDS = 300;

async function ingestUrl(env: Bindings): Promise<string | null> {
  if (env.CONTROL_PLANE_URL) return `${env.CONTROL_PLANE_URL.replace(/\/$/, "")}/v1/ingest/events`;
  const published = controlPlaneLocationSchema.safeParse(
    await env.EDGE_KV.get(kvKeys.controlPlane(), "json"),
  );
  return published.success ? `${published.data.url.replace(/\/$/, "")}/v1/ingest/events` : null;
}

/**
 * Queue consumer: delivers a batch of events to the control plane's ingest endpoint, signed with
 * INGEST_SECRET. Anything short of a 2xx retries the whole batch with growing delays (the control plane
 * de-duplicates by event id), so nothing is lost while it is down; malformed messages are dropped and logged.
 */
export async function deliverEvents(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const events: EdgeEvent[] = [];
  for (const message of batch.messages) {
    const parsed = edgeEventSchema.safeParse(message.body);
    if (parsed.success) events.push(parsed.data);
    else {
      console.error(JSON.stringify({ msg: "dropping malformed event", messageId: message.id }));
      message.ack();
    }
  }
  if (events.length === 0) return;
  const attempts = Math.max(...batch.messages.map((m) => m.attempts));
  const retry = (reason: string) => {
    const delaySeconds = Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.min(attempts, 9));
    console.error(
      JSON.stringify({ msg: "event delivery failed", reason, events: events.length, attempts, delaySeconds }),
    );
    batch.retryAll({ delaySeconds });
  };
  const url = await ingestUrl(env);
  if (!url || !env.INGEST_SECRET) return retry(url ? "INGEST_SECRET not set" : "control-plane URL unknown");
  const body = JSON.stringify({ events });
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: await signBody(env.INGEST_SECRET, body),
      },
      body,
    });
    if (!res.ok) return retry(`HTTP ${res.status}`);
    batch.ackAll();
  } catch (err) {
    retry(err instanceof Error ? err.message : String(err));
  }
}
