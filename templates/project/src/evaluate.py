"""Score model.pkl on the test split and write metrics.json.

The model is unpickled only after its checksum matches the one DVC recorded for the train
stage in dvc.lock: a pickle runs code when loaded, so an unverified one is never opened.
"""

import hashlib
import json
import pickle
from pathlib import Path

import pandas as pd
import yaml
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

MODEL = Path("model.pkl")


def recorded_md5(path: Path) -> str:
    lock = yaml.safe_load(Path("dvc.lock").read_text())
    for out in lock["stages"]["train"]["outs"]:
        if out["path"] == path.as_posix():
            return str(out["md5"])
    raise SystemExit(f"evaluate: dvc.lock records no checksum for {path}; run `dvc repro`.")


blob = MODEL.read_bytes()
if hashlib.md5(blob).hexdigest() != recorded_md5(MODEL):
    raise SystemExit(f"evaluate: {MODEL} does not match the checksum in dvc.lock; not loading it.")
model = pickle.loads(blob)

test = pd.read_csv("data/test.csv")
features, target = test.drop(columns="target"), test["target"]
predicted = model.predict(features)
probability = model.predict_proba(features)[:, 1]

metrics = {
    "accuracy": accuracy_score(target, predicted),
    "roc_auc": roc_auc_score(target, probability),
    "f1": f1_score(target, predicted),
    "precision": precision_score(target, predicted),
    "recall": recall_score(target, predicted),
    "log_loss": log_loss(target, probability),
}
Path("metrics.json").write_text(
    json.dumps({k: round(v, 6) for k, v in metrics.items()}, indent=2) + "\n"
)
print("evaluate: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
