"""Fit a scaled logistic regression on the training split and save it as model.pkl."""

import pickle
from pathlib import Path

import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

params = yaml.safe_load(Path("params.yaml").read_text())["train"]

train = pd.read_csv("data/train.csv")
features, target = train.drop(columns="target"), train["target"]
model = make_pipeline(
    StandardScaler(),
    LogisticRegression(C=params["C"], max_iter=params["max_iter"]),
)
model.fit(features, target)
Path("model.pkl").write_bytes(pickle.dumps(model))
print(f"train: fitted on {len(train)} rows with C={params['C']}")
