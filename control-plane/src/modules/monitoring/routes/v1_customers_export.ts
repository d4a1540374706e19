import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import {
  CUSTOMER_EXPORT_CURSOR_MAX_LENGTH,
  CUSTOMER_EXPORT_DEFAULT_LIMIT,
  CUSTOMER_EXPORT_MAX_LIMIT,
  customerExportSchema,
  customerIdSchema,
} from "#shared/customer-export.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { exportCustomerData } from "../customer-export.ts";

const params = z.object({
  customerId: customerIdSchema.openapi({ param: { name: "customerId", in: "path" }, example: "7590-VHVEG" }),
});

const query = z.object({
  cursor: z
    .string()
    .max(CUSTOMER_EXPORT_CURSOR_MAX_LENGTH)
    .optional()
    .describe("nextCursor from the previous page"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(CUSTOMER_EXPORT_MAX_LIMIT)
    .default(CUSTOMER_EXPORT_DEFAULT_LIMIT)
    .describe("Entries per page (predictions, pending outcomes and raw records together)"),
});

/** Personal data: no cache on the way may keep any answer of this route, errors included. */
const noStore: MiddlewareHandler<HonoEnv> = async (c, next) => {
  c.header("cache-control", "no-store");
  await next();
};

export const customerExportRoute = createRoute({
  method: "get",
  path: "/v1/customers/{customerId}/export",
  summary: "Everything the platform stores about one customer (a data-subject access request)",
  description:
    "The customer is named by the `customerId` the tenant sends with its records and feedback. Answers, " +
    "oldest first: their scored predictions with the model version, probability, contact decision, outcome " +
    "and raw record (when the tenant stores raw records), then outcomes still waiting for a prediction, then " +
    "raw records naming them whose prediction is gone. Predictions keep no explanations. Hourly monitoring " +
    "aggregates are anonymous and not included. Paged: follow `nextCursor` until it is null; every page " +
    "carries the same `exportId`. 404 when nothing is stored about the customer in the caller's tenant. " +
    "Each page is audited as `customer.export` with the counts, never the customer's id.",
  security: bearerSecurity,
  middleware: [noStore, authenticate(), requirePermission("customers:export")] as const,
  request: { params, query },
  responses: {
    200: {
      description: "One page of the export",
      content: { "application/json": { schema: customerExportSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

export function registerCustomersExport(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(customerExportRoute, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    const page = await exportCustomerData(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").customerId,
      { cursor, limit },
    );
    return c.json(customerExportSchema.parse(page), 200);
  });
}
