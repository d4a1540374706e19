import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    silent: "passed-only",
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/{shared,trainer,control-plane,e2e}/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const model = inject("edgeModel");
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: { bindings: { TEST_MODEL_B64: model.modelB64, TEST_MANIFEST: model.manifestText } },
            };
          }),
        ],
        test: {
          name: "edge",
          isolate: false,
          include: ["test/edge/**/*.test.ts"],
          globalSetup: ["test/edge/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
