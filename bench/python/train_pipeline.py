"""Trains the Python side of bench/predict.ts and saves it with joblib (not timed).

The usual Python churn service's model: pandas -> scikit-learn ColumnTransformer (one-hot for text
columns, numbers passed through) -> XGBoost 1.7 hist, 100 trees of depth 6, learning rate 0.1. It learns
from the rows split.json names for training, the rows `churn train` learns from on the other side.

    python3 bench/python/train_pipeline.py --data CSV --split JSON --target Churn --positive Yes \
        --id customerID --out MODEL.joblib
"""

import argparse
import json

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from xgboost import XGBClassifier


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--data", "--split", "--target", "--positive", "--id", "--out"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()

    frame = pd.read_csv(args.data)
    with open(args.split, encoding="utf-8") as f:
        frame = frame.iloc[json.load(f)["train"]]
    y = (frame[args.target].astype(str) == args.positive).astype(int)
    x = frame.drop(columns=[args.target, args.id])

    # A column pandas reads as text but that holds numbers (Telco's TotalCharges has blank cells) is
    # numeric, as any Python pipeline for this data makes it.
    numeric, categorical = [], []
    for column in x.columns:
        converted = pd.to_numeric(x[column], errors="coerce")
        if converted.notna().mean() > 0.95:
            numeric.append(column)
            x[column] = converted
        else:
            categorical.append(column)

    features = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", "passthrough", numeric),
        ]
    )
    # n_jobs left at XGBoost's default (every core), as the pipeline runs when nobody tunes it.
    model = XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist")
    pipeline = Pipeline([("features", features), ("model", model)])
    pipeline.fit(x, y)
    joblib.dump({"pipeline": pipeline, "numeric": numeric, "id": args.id}, args.out)


if __name__ == "__main__":
    main()
