import { ChurnError } from "#shared/errors.ts";
import type { ChurnModel } from "../ml/models/composite.ts";
import { type DataQualityReport, LEAKAGE_STOP_AUC } from "../ml/quality.ts";

/** Checks that stop a run with an error naming the column or rows at fault. */

/**
 * A column that alone ranks the training rows almost perfectly is nearly always recorded after the outcome
 * (a cancellation date, a closing reason): training stops and names it, unless the caller vouches for it.
 */
export function checkLeakage(quality: DataQualityReport, allowLeaky: boolean): void {
  const leaky = quality.features.filter((f) => f.singleFeatureAuc >= LEAKAGE_STOP_AUC);
  if (leaky.length === 0 || allowLeaky) return;
  const named = leaky.map((f) => `"${f.name}" (ROC-AUC ${f.singleFeatureAuc.toFixed(3)})`).join(", ");
  throw new ChurnError(
    "INVALID_REQUEST",
    `Probable target leakage: ${named} alone predict${leaky.length === 1 ? "s" : ""} the target almost perfectly on the training folds, so ${leaky.length === 1 ? "it is" : "they are"} probably recorded after the customer left. Leave ${leaky.length === 1 ? "it" : "them"} out with --drop ${leaky.map((f) => JSON.stringify(f.name)).join(",")}, or pass --allow-leaky if ${leaky.length === 1 ? "it is" : "they are"} known before churn`,
  );
}

export function checkBothClasses(y: Uint8Array, rows: readonly number[], part: string): void {
  let positives = 0;
  for (const r of rows) positives += y[r]!;
  if (positives === 0 || positives === rows.length) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `The ${part} rows contain only one target class (${positives} of ${rows.length} positive); both are needed`,
    );
  }
}

export function checkCategories(model: ChurnModel): void {
  for (const f of model.features) {
    if (f.type === "categorical" && f.categories.length === 0) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Column "${f.name}" has no values in the training rows; drop it with --drop ${f.name}`,
      );
    }
  }
}
