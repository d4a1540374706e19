"""The Python side of bench/predict.ts, timed as a whole from the interpreter's start: a batch scoring job
as it is usually written. pandas read_csv -> the saved pipeline's predict_proba -> to_csv, writing the id,
probability, contact flag and risk band, the columns `churn predict` writes.

    python3 bench/python/predict_pipeline.py MODEL.joblib CUSTOMERS.csv SCORES.csv
"""

import sys

import joblib
import numpy as np
import pandas as pd


def main() -> None:
    model_path, data_path, out_path = sys.argv[1:4]
    saved = joblib.load(model_path)
    frame = pd.read_csv(data_path)
    for column in saved["numeric"]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    probability = saved["pipeline"].predict_proba(frame)[:, 1]
    scores = pd.DataFrame(
        {
            saved["id"]: frame[saved["id"]],
            "probability": probability,
            "contact": np.where(probability >= 0.5, "true", "false"),
            "risk_band": np.select([probability >= 0.6, probability >= 0.3], ["high", "medium"], "low"),
        }
    )
    scores.to_csv(out_path, index=False, float_format="%.6f")


if __name__ == "__main__":
    main()
