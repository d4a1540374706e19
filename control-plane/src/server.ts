import { createControlPlane, listen, publishControlPlaneLocation } from "./control-plane.ts";
import { loadConfig } from "./platform/config.ts";
import { cloudflareKvStore } from "./platform/edge-store/cloudflare-kv.ts";

/**
 * Production entry: the control plane alone, publishing to Cloudflare KV. Locally, `npm start` runs it
 * beside the edge in workerd instead (scripts/start.ts).
 */
const config = loadConfig();
if (!config.CLOUDFLARE_ACCOUNT_ID || !config.CLOUDFLARE_API_TOKEN || !config.CLOUDFLARE_KV_NAMESPACE_ID) {
  console.error(
    "control-plane: set CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN and CLOUDFLARE_KV_NAMESPACE_ID, or run `npm start` for the local platform",
  );
  process.exit(2);
}
const edge = cloudflareKvStore({
  accountId: config.CLOUDFLARE_ACCOUNT_ID,
  apiToken: config.CLOUDFLARE_API_TOKEN,
  namespaceId: config.CLOUDFLARE_KV_NAMESPACE_ID,
  ...(config.CLOUDFLARE_API_BASE ? { apiBase: config.CLOUDFLARE_API_BASE } : {}),
});
const cp = await createControlPlane(config, edge);
const server = await listen(cp.app, config.CONTROL_PLANE_HOST, config.CONTROL_PLANE_PORT);
if (config.PUBLIC_URL) await publishControlPlaneLocation(edge, config.PUBLIC_URL);
console.log(JSON.stringify({ level: "info", msg: "control plane listening", url: server.url }));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await server.close();
    await cp.close();
    process.exit(0);
  });
}
