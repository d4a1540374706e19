import { z } from "zod";

export const versionParams = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "not a model name"),
  version: z.coerce.number().int().positive().max(1_000_000_000),
});
