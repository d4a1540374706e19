import { createEdgeApp } from "./app.ts";
import { type Bindings, bindingsSchema } from "./env.ts";
import { deliverEvents } from "./events/deliver.ts";
import { warmUpOrt } from "./models/ort.ts";

export { PredictionQuota } from "./quota/durable-object.ts";
export { RateLimiter } from "./rate-limit/durable-object.ts";

const app = createEdgeApp();

// Start onnxruntime while the isolate starts (before any request), so the first prediction pays only for
// its model's session. A failure here is logged; the first request then retries through loadOrt().
try {
  await warmUpOrt();
} catch (err) {
  console.error(JSON.stringify({ msg: "onnxruntime warm-up failed", error: String(err) }));
}
let checked = false;

function checkBindings(env: Bindings): void {
  if (checked) return;
  const result = bindingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Edge worker misconfigured: ${problems}`);
  }
  checked = true;
}

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    checkBindings(env);
    return app.fetch(request, env, ctx);
  },
  queue(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
    checkBindings(env);
    return deliverEvents(batch, env);
  },
} satisfies ExportedHandler<Bindings>;
