import type { FieldIssue } from "#shared/errors.ts";
import { type FeatureSpec, graphInputOf, type Manifest } from "#shared/manifest.ts";
import { CUSTOMER_ID_FIELD, FORBIDDEN_RECORD_KEYS, MAX_STRING_LENGTH } from "#shared/predict.ts";

const MAX_ISSUES = 50;

export interface EncodedBatch {
  /** Column arrays in manifest feature order: Float32Array for numeric, string[] for categorical. */
  columns: (Float32Array | string[])[];
  customerIds: (string | undefined)[];
  /** The first issues, for the error response. */
  issues: FieldIssue[];
  /** Every error counted per field (issues stop at the first 50); absent when there are none. */
  fieldErrors: Map<string, number> | undefined;
}

export interface FeatureEncoder {
  readonly features: readonly FeatureSpec[];
  /** Feature names in manifest order (as the CSV headers were written), computed once for reasons. */
  readonly names: readonly string[];
  /** The graph input each feature feeds, in manifest order, computed once for the tensors. */
  readonly inputs: readonly string[];
  /** `rowIds` names rows in error paths when `records` is a subset of the request's records. */
  encode(
    records: readonly Record<string, unknown>[],
    allowUnknownFields: boolean,
    rowIds?: readonly number[],
  ): EncodedBatch;
}

/** Compiles a manifest's feature schema once per model version; encoding is then allocation-light. */
export function compileEncoder(manifest: Manifest): FeatureEncoder {
  const features = manifest.features;
  const index = new Map(features.map((f, i) => [f.name, i]));
  return {
    features,
    names: features.map((f) => f.name),
    inputs: features.map(graphInputOf),
    encode(records, allowUnknownFields, rowIds) {
      const n = records.length;
      const columns = features.map((f) =>
        f.type === "numeric" ? new Float32Array(n) : new Array<string>(n),
      );
      const customerIds = new Array<string | undefined>(n);
      const issues: FieldIssue[] = [];
      let fieldErrors: Map<string, number> | undefined;
      const report = (row: number, field: string, message: string) => {
        fieldErrors ??= new Map();
        fieldErrors.set(field, (fieldErrors.get(field) ?? 0) + 1);
        if (issues.length < MAX_ISSUES)
          issues.push({ path: `records.${rowIds?.[row] ?? row}.${field}`, message });
      };
      for (let row = 0; row < n; row++) {
        const record = records[row]!;
        for (const key of Object.keys(record)) {
          if (FORBIDDEN_RECORD_KEYS.has(key)) report(row, key, "forbidden key");
          else if (!index.has(key) && key !== CUSTOMER_ID_FIELD && !allowUnknownFields)
            report(row, key, "unknown field for the live model");
        }
        const customerId = Object.hasOwn(record, "customerId") ? record["customerId"] : undefined;
        if (customerId !== undefined && (typeof customerId !== "string" || customerId.length > 128)) {
          report(row, "customerId", "must be a string of at most 128 characters");
        } else {
          customerIds[row] = customerId;
        }
        for (let j = 0; j < features.length; j++) {
          const feature = features[j]!;
          const value = Object.hasOwn(record, feature.name) ? record[feature.name] : undefined;
          if (feature.type === "numeric") {
            const column = columns[j] as Float32Array;
            if (value === undefined || value === null) {
              if (feature.required) report(row, feature.name, "required number is missing");
              column[row] = Number.NaN;
            } else if (typeof value !== "number") {
              report(row, feature.name, `expected a number, got ${describe(value)}`);
            } else if (!Number.isFinite(value)) {
              report(row, feature.name, "must be a finite number");
            } else {
              column[row] = value;
            }
          } else {
            const column = columns[j] as string[];
            if (value === undefined || value === null) {
              if (feature.required) report(row, feature.name, "required category is missing");
              column[row] = "";
            } else if (typeof value === "string") {
              if (value.length > MAX_STRING_LENGTH)
                report(row, feature.name, `longer than ${MAX_STRING_LENGTH} characters`);
              column[row] = value;
            } else if (typeof value === "number" && Number.isFinite(value)) {
              column[row] = String(value);
            } else {
              report(row, feature.name, `expected a string, got ${describe(value)}`);
            }
          }
        }
      }
      return { columns, customerIds, issues, fieldErrors };
    },
  };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return String(value);
  return typeof value;
}
