"""XGBoost side of bench/gbdt.ts: trains on a data set the Node bench wrote and prints one JSON line.

    python3 bench/python/xgboost_train.py --data DIR --threads 1 --margins OUT.f32

DIR holds meta.json, train.f32 (rows x features float32, row-major, little-endian), train.labels (uint8)
and holdout.f32. Reading the files is not timed; the clock starts at DMatrix construction (which runs the
quantile sketch) and stops when the last tree is grown. Holdout margins are written as float32 so the Node
side scores both models with the same AUC code.
"""

import argparse
import json
import os
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--margins", required=True)
    args = parser.parse_args()
    # OpenMP reads this before xgboost loads; nthread below also caps every parallel region.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import numpy as np
    import xgboost as xgb

    with open(os.path.join(args.data, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    features = meta["features"]
    x = np.fromfile(os.path.join(args.data, "train.f32"), dtype="<f4").reshape(meta["rows"], features)
    y = np.fromfile(os.path.join(args.data, "train.labels"), dtype=np.uint8).astype(np.float32)
    holdout = np.fromfile(os.path.join(args.data, "holdout.f32"), dtype="<f4").reshape(-1, features)
    p = meta["params"]
    params = {
        "tree_method": "hist",
        "objective": "binary:logistic",
        "max_depth": p["maxDepth"],
        # XGBoost's max_bin counts the value bins of a feature (missing values have none); ours are
        # value bins too, with the missing bin on top, so the same number gives the same split points.
        "max_bin": p["maxBins"],
        "eta": p["learningRate"],
        "lambda": p["lambda"],
        "alpha": 0,
        "gamma": p["gamma"],
        "min_child_weight": p["minChildWeight"],
        "subsample": 1,
        "colsample_bytree": 1,
        "grow_policy": "depthwise",
        # The positive rate: the first margin is its log-odds, as in the TypeScript booster.
        "base_score": float(y.mean()),
        "nthread": args.threads,
        "seed": meta["seed"],
        "verbosity": 0,
    }

    started = time.perf_counter()
    train = xgb.DMatrix(x, label=y, nthread=args.threads)
    booster = xgb.train(params, train, num_boost_round=p["rounds"])
    seconds = time.perf_counter() - started

    margins = booster.predict(xgb.DMatrix(holdout, nthread=args.threads), output_margin=True)
    margins.astype("<f4").tofile(args.margins)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "trees": booster.num_boosted_rounds(),
                "peakRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "version": xgb.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
