import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    silent: "passed-only",
    // Lines run by tests in this process or inside the workerd pool. Code in spawned processes (the CLI,
    // Miniflare's workerd in test/e2e, worker threads) is not counted. Exclusions: docs/testing.md#coverage.
    coverage: {
      provider: "istanbul",
      include: ["{edge,control-plane,trainer,shared}/src/**/*.ts"],
      exclude: [
        // Production entry: reads the environment, starts the listener and handles signals; only wiring
        // around createControlPlane and listen, which the suites run in process.
        "control-plane/src/server.ts",
        // Type declarations: nothing runs.
        "**/*.d.ts",
        // Runs only inside the worker thread the AutoML search starts; what it calls (fitFold) is counted
        // from the calling thread, which runs the same function.
        "trainer/src/ml/automl/fold-worker.ts",
        // The same for a GBDT fit's worker threads (gbdt/team.ts): the shares they run are the calling
        // thread's code, counted there.
        "trainer/src/ml/models/gbdt/team-worker.ts",
      ],
      reporter: ["text-summary", "json-summary", "html"],
      reportsDirectory: "coverage",
      // The figures are still worth reading when a test fails; the failure itself fails the run.
      reportOnFailure: true,
      thresholds: {
        "edge/src/**": { lines: 90 },
        "control-plane/src/**": { lines: 90 },
        "trainer/src/**": { lines: 90 },
        "shared/src/**": { lines: 90 },
      },
    },
    projects: [
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/{architecture,shared,trainer,control-plane,e2e,ops,console}/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => {
            const { linear, tree, mlp } = inject("edgeModels");
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MODEL_B64: linear.modelB64,
                  TEST_MANIFEST: linear.manifestText,
                  TEST_TREE_MODEL_B64: tree.modelB64,
                  TEST_TREE_MANIFEST: tree.manifestText,
                  TEST_TREE_EXPLAINER: tree.explainerText,
                  TEST_MLP_MODEL_B64: mlp.modelB64,
                  TEST_MLP_MANIFEST: mlp.manifestText,
                  TEST_MLP_EXPLAINER: mlp.explainerText,
                  // Cases per route for the OpenAPI fuzz suites (npm run fuzz raises it); "" keeps the default.
                  FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
                  FUZZ_SEED: process.env.FUZZ_SEED ?? "",
                },
              },
            };
          }),
        ],
        test: {
          name: "edge",
          // One isolate for every edge file (one per file adds about 80 s to a run). The worker's isolate-scope
          // caches (revocation list, JWKS, deployment pointers, quota meters) carry over from file to file, so
          // a test faking the clock sets it back, or ahead only past a cache window: an entry read on a clock
          // set weeks ahead looks fresh until the real clock gets there.
          isolate: false,
          include: ["test/edge/**/*.test.ts"],
          globalSetup: ["test/edge/global-setup.ts"],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
