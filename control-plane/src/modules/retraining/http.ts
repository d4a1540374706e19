import { z } from "@hono/zod-openapi";

/** The `{id}` path parameter of the alert, webhook, retraining-job and candidate routes. */
export function idParams(example: string) {
  return z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, example }),
  });
}
