import { z } from "@hono/zod-openapi";

/** An `{id}` path parameter, documented with an example id of the resource it names. */
export function idParams(example: string) {
  return z.object({
    id: z
      .string()
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, example }),
  });
}

/** The `{id}` path parameter of the /v1/clients/{id} routes. */
export const clientIdParams = idParams("cli_0123456789abcdefghij");
