import { defineConfig } from "vitest/config";

/**
 * The tests Stryker runs against each mutant of the core modules (stryker.config.json). Node only: the
 * Stryker runner cannot drive the workerd pool, so every suite listed here exercises the core modules in
 * Node (the edge's token check and feature encoder are plain Hono and TypeScript, with Miniflare's real KV).
 */
export default defineConfig({
  test: {
    name: "mutation",
    environment: "node",
    silent: "passed-only",
    include: [
      "test/trainer/metrics.test.ts",
      "test/trainer/evaluation-metrics.test.ts",
      "test/trainer/gbdt.test.ts",
      "test/trainer/split-finding.test.ts",
      "test/trainer/logistic.test.ts",
      "test/trainer/feature-preprocessing.test.ts",
      "test/edge/features.test.ts",
      "test/edge/record-validation.test.ts",
      "test/shared/edge-token-verification.test.ts",
      "test/control-plane/auth_middleware.test.ts",
      "test/control-plane/audit_chain_verification.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
