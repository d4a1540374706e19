import { z } from "@hono/zod-openapi";

/** The `{id}` path parameter of the /v1/clients/{id} routes. */
export const clientIdParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "cli_0123456789abcdefghij" }),
});
