import type { MonitoringSnapshot } from "#shared/monitoring.ts";

/** A snapshot as computeSnapshot reports it, with the numbers the rules read set per test. */
export function snapshotWith(
  tenantId: string,
  values: {
    records?: number;
    drift?: number | null;
    estimatedAuc?: number | null;
    trainingAuc?: number | null;
    schemaViolationRate?: number | null;
    outOfRangeRate?: number | null;
  },
): MonitoringSnapshot {
  const records = values.records ?? 1000;
  return {
    tenantId,
    versionId: "mv_test",
    version: 1,
    window: { from: "2026-01-01T00:00:00.000Z", to: "2026-01-02T00:00:00.000Z" },
    records,
    drift: {
      score: records >= 500 ? (values.drift ?? 0.01) : null,
      status: records >= 500 ? "ok" : "quiet",
      features: [],
      prediction: { psi: null, jsDistance: null, ks: null },
    },
    quality: {
      missingRateJump: null,
      missingRateJumpFeature: null,
      outOfRangeRate: values.outOfRangeRate ?? 0,
      unseenCategoryRate: 0,
      schemaViolationRate: values.schemaViolationRate ?? 0,
    },
    performance: {
      estimated: { auc: values.estimatedAuc ?? 0.84, precisionAtThreshold: null },
      realized: { labeled: 0, auc: null, precisionAtThreshold: null, calibrationError: null },
      trainingAuc: values.trainingAuc === undefined ? 0.85 : values.trainingAuc,
    },
    business: { flagged: 0, revenueAtRisk: 0, expectedSavedRevenue: 0 },
  };
}
