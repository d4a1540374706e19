import { createEdgeApp } from "./app.ts";
import { type Bindings, bindingsSchema } from "./env.ts";

const app = createEdgeApp();
let checked = false;

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    if (!checked) {
      const result = bindingsSchema.safeParse(env);
      if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new Error(`Edge worker misconfigured: ${problems}`);
      }
      checked = true;
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Bindings>;
