"""The Python side of bench/edge.ts: a churn prediction service as such services are usually built.

FastAPI + uvicorn (one worker), a pydantic model of the Telco record, an API-key header, and the
scikit-learn pipeline bench/python/train_pipeline.py saved with joblib (ColumnTransformer one-hot +
numeric passthrough -> XGBoost 1.7 hist). It takes the edge's request body, `{"records": [...]}`, and
answers each record's churn probability. The handler is a plain `def`, as FastAPI advises for blocking
work: uvicorn runs it in its thread pool. The access log is off, so the service spends nothing on it.

    SERVICE_API_KEY=... python3 bench/python/service.py --model MODEL.joblib --port PORT
"""

import argparse
import os
import secrets
from typing import List, Optional

import joblib
import pandas as pd
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field


class Customer(BaseModel):
    customerId: Optional[str] = None
    gender: str
    SeniorCitizen: int
    Partner: str
    Dependents: str
    tenure: float
    PhoneService: str
    MultipleLines: str
    InternetService: str
    OnlineSecurity: str
    OnlineBackup: str
    DeviceProtection: str
    TechSupport: str
    StreamingTV: str
    StreamingMovies: str
    Contract: str
    PaperlessBilling: str
    PaymentMethod: str
    MonthlyCharges: float
    # Blank in the export for customers in their first month.
    TotalCharges: Optional[float] = None


class PredictRequest(BaseModel):
    records: List[Customer] = Field(..., min_items=1, max_items=1000)


def create_app(model_path: str, api_key: str) -> FastAPI:
    saved = joblib.load(model_path)
    pipeline = saved["pipeline"]
    # The columns in the order the pipeline was fitted on: scikit-learn checks names and order.
    columns = list(pipeline.feature_names_in_)
    numeric = saved["numeric"]
    app = FastAPI()

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.post("/v1/predict")
    def predict(body: PredictRequest, x_api_key: str = Header(default="")) -> dict:
        # Constant-time comparison, so the key cannot be guessed byte by byte from response times.
        if not secrets.compare_digest(x_api_key.encode(), api_key.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong API key")
        frame = pd.DataFrame([record.dict() for record in body.records], columns=columns)
        # A missing TotalCharges arrives as None: numeric columns become floats with NaN, as in training.
        frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
        probability = pipeline.predict_proba(frame)[:, 1]
        return {
            "predictions": [
                {"customerId": record.customerId, "probability": float(p)}
                for record, p in zip(body.records, probability)
            ]
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # From the environment, not the command line, where other users' `ps` would show it.
    api_key = os.environ["SERVICE_API_KEY"]
    app = create_app(args.model, api_key)
    uvicorn.run(app, host="127.0.0.1", port=args.port, workers=1, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
