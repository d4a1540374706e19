import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { idPattern } from "#shared/ids.ts";
import { errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { publicOrigin } from "../public-origin.ts";
import { serviceProviderMetadata } from "../saml/service-provider.ts";
import { samlUrls } from "../saml/settings.ts";

export const SAML_METADATA_CONTENT_TYPE = "application/samlmetadata+xml";

export const samlMetadataRoute = createRoute({
  method: "get",
  path: "/v1/saml/{tenantId}/metadata",
  summary: "The tenant's SAML service provider metadata (public)",
  description:
    "An EntityDescriptor whose entity id is this URL, with the assertion consumer service " +
    "(HTTP-POST, on the public origin), AuthnRequestsSigned false and WantAssertionsSigned true, for the " +
    "tenant's identity provider to import. It is derived from the tenant id and the public origin alone, " +
    "so it is served for any well-formed tenant id, before SAML is set up (the provider's side is usually " +
    "created first) and without revealing whether the tenant exists.",
  request: {
    params: z.object({ tenantId: z.string().max(64).describe("The tenant's id (tnt_…)") }),
  },
  responses: {
    200: {
      description: "Service provider metadata",
      content: { [SAML_METADATA_CONTENT_TYPE]: { schema: z.string() } },
    },
    ...errorResponses(404),
  },
});

export function registerSamlMetadata(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(samlMetadataRoute, (c) => {
    const { tenantId } = c.req.valid("param");
    if (!idPattern("tenant").test(tenantId)) throw new ChurnError("NOT_FOUND", "No tenant has that id");
    const xml = serviceProviderMetadata(samlUrls(publicOrigin(c), tenantId));
    // Derived from the request's origin when PUBLIC_URL is unset: never stored by a shared cache.
    c.header("cache-control", "no-store");
    return c.body(xml, 200, { "content-type": SAML_METADATA_CONTENT_TYPE });
  });
}
