import { z } from "zod";
import { CUSTOMER_ID_FIELD, FORBIDDEN_RECORD_KEYS } from "./predict.ts";

/** Keys a prediction record may not use as a feature: the customer's id, and keys unsafe in an object. */
export const RESERVED_RECORD_KEYS: ReadonlySet<string> = new Set([
  CUSTOMER_ID_FIELD,
  ...FORBIDDEN_RECORD_KEYS,
]);

/**
 * A feature is named exactly as its CSV header was written (spaces, punctuation, any script): API clients
 * send records keyed by those names. Control characters are refused, as is a name a JSON object cannot
 * hold as an ordinary key.
 */
export const featureNameSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((name) => !/\p{Cc}/u.test(name), "must not contain control characters")
  .refine((name) => !RESERVED_RECORD_KEYS.has(name), "is reserved in JSON records");

/** ONNX input names stay in a safe alphabet; the trainer derives them from the feature names. */
export const graphInputNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must start with a letter or _ and contain only letters, digits and _");

/** The graph input a feature feeds: `input` when the manifest names one, else the feature's own name. */
const graphInputField = graphInputNameSchema.optional();

export const numericFeatureSchema = z.object({
  name: featureNameSchema,
  input: graphInputField,
  type: z.literal("numeric"),
  /** A missing optional numeric value is fed to the graph as NaN; the graph imputes it. */
  required: z.boolean(),
  /** Range seen in training, for data-quality checks; values outside are still scored. */
  min: z.number().optional(),
  max: z.number().optional(),
});

export const categoricalFeatureSchema = z.object({
  name: featureNameSchema,
  input: graphInputField,
  type: z.literal("categorical"),
  required: z.boolean(),
  /** Categories seen in training; unseen ones are allowed and encode as "none of these". */
  categories: z.array(z.string().max(256)).max(10_000),
});

export const featureSpecSchema = z.discriminatedUnion("type", [
  numericFeatureSchema,
  categoricalFeatureSchema,
]);
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
export type NumericFeature = z.infer<typeof numericFeatureSchema>;
export type CategoricalFeature = z.infer<typeof categoricalFeatureSchema>;

/** The ONNX input name a feature is fed through (manifests from before `input` use the feature name). */
export const graphInputOf = (feature: { name: string; input?: string | undefined }): string =>
  feature.input ?? feature.name;

export const modelFamilySchema = z.enum([
  "logistic_regression",
  "gbdt",
  "random_forest",
  "mlp",
  "ensemble",
  "external",
]);
export type ModelFamily = z.infer<typeof modelFamilySchema>;

export const metricsSchema = z.record(z.string(), z.number());
export type Metrics = z.infer<typeof metricsSchema>;

/** Histogram of one feature on the training data: the baseline that drift monitoring compares traffic to. */
export const referenceHistogramSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("numeric"),
    /** Ascending cut points; bin i holds values in (edges[i-1], edges[i]], the last bin everything above. */
    edges: z.array(z.number()),
    counts: z.array(z.number().int().nonnegative()),
    missing: z.number().int().nonnegative(),
    /** Smallest and largest value seen in training: traffic outside counts as out of range. */
    min: z.number().optional(),
    max: z.number().optional(),
  }),
  z.object({
    type: z.literal("categorical"),
    counts: z.record(z.string(), z.number().int().nonnegative()),
    missing: z.number().int().nonnegative(),
  }),
]);
export type ReferenceHistogram = z.infer<typeof referenceHistogramSchema>;

export const driftReferenceSchema = z.object({
  rows: z.number().int().positive(),
  features: z.record(z.string(), referenceHistogramSchema),
  /** Calibrated probabilities of the training rows, on fixed edges. */
  score: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int().nonnegative()) }),
});
export type DriftReference = z.infer<typeof driftReferenceSchema>;

export const manifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9][a-z0-9-]*$/, "lowercase letters, digits and -"),
    family: modelFamilySchema,
    createdAt: z.string(),
    target: z.object({ column: z.string(), positive: z.string() }),
    /**
     * One ONNX input per feature (named `input`, or after the feature): float [N,1] for numeric, string
     * [N,1] for categorical. Names and inputs are each unique.
     */
    features: z
      .array(featureSpecSchema)
      .min(1)
      .max(500)
      .refine((fs) => new Set(fs.map((f) => f.name)).size === fs.length, "feature names must be unique")
      .refine(
        (fs) => new Set(fs.map(graphInputOf)).size === fs.length,
        "feature graph inputs must be unique",
      ),
    outputs: z.object({
      /** Calibrated probability of the positive class: [N] or [N,1], or column `column` of [N,K]. */
      probability: z.object({ name: z.string(), column: z.number().int().nonnegative().optional() }),
      /**
       * Optional exact per-feature contributions in margin (logit) space, [N, F] in `features` order,
       * relative to `baseMargin`: baseMargin + Σ contributions = the model's margin.
       */
      contributions: z.object({ name: z.string(), baseMargin: z.number() }).optional(),
    }),
    /** Business decision threshold: contact the customer when probability >= threshold. */
    threshold: z.number().min(0).max(1),
    /** Probability cut-offs between risk bands low | medium | high. */
    riskBands: z.object({ medium: z.number().min(0).max(1), high: z.number().min(0).max(1) }),
    onnx: z.object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().positive(),
      irVersion: z.number().int(),
      opset: z.number().int(),
    }),
    metrics: z.object({ holdout: metricsSchema, cv: metricsSchema.optional() }),
    /**
     * Tree and MLP models (and ensembles holding one) explain from a separate package (`explainer.json`:
     * TreeSHAP for trees, DeepLIFT for networks, exact terms for linear parts), published with the model
     * and checked by its sha256; baseMargin + Σ contributions = the model's margin. The format name
     * predates the network parts and is kept so stored packages stay readable.
     */
    explainer: z
      .object({
        format: z.literal("churn-gbdt-treeshap"),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        bytes: z.number().int().positive(),
        baseMargin: z.number(),
      })
      .optional(),
    /** How margins become the calibrated probability the graph outputs. */
    calibration: z.object({ method: z.enum(["none", "platt", "isotonic"]) }).optional(),
    /** The profit-optimal threshold's inputs and the expected-profit curve it was chosen from. */
    decision: z
      .object({
        valuePerCustomer: z.number(),
        offerCost: z.number(),
        offerAcceptance: z.number().min(0).max(1),
        curve: z.array(
          z.object({ threshold: z.number(), expectedProfit: z.number(), contactRate: z.number() }),
        ),
      })
      .optional(),
    importance: z.array(z.object({ feature: z.string(), gain: z.number(), splits: z.number() })).optional(),
    reference: driftReferenceSchema.optional(),
    lineage: z.object({
      dataFingerprint: z.string(),
      trainerVersion: z.string(),
      params: z.record(z.string(), z.unknown()),
      seed: z.number().int(),
      gitCommit: z.string().optional(),
      rows: z.object({ train: z.number().int(), holdout: z.number().int() }).optional(),
    }),
  })
  .meta({ id: "Manifest" });
export type Manifest = z.infer<typeof manifestSchema>;

export type RiskBand = "low" | "medium" | "high";

export function riskBand(probability: number, bands: Manifest["riskBands"]): RiskBand {
  if (probability >= bands.high) return "high";
  if (probability >= bands.medium) return "medium";
  return "low";
}
