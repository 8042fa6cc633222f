"""Split scikit-learn's bundled breast-cancer data into train and test tables (no download).

The target `diagnosis` is "benign" or "malignant": the positive class is the second of the
two in order, so recall is the share of malignant tumours the model finds. `size` ("small" or
"large", from the mean radius) is a slice column: `mlops-ci evaluate` reports every metric on
each size apart, and a gate in mlops.yaml holds the recall on small tumours, the ones a model
misses most. It is not a feature (train drops it).
"""

from pathlib import Path

import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]

frame = load_breast_cancer(as_frame=True).frame
# scikit-learn codes the target 0 for malignant, 1 for benign
frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
large = frame["mean radius"] >= params["large_radius"]
frame["size"] = large.map({True: "large", False: "small"})
train, test = train_test_split(
    frame,
    test_size=params["test_size"],
    random_state=params["seed"],
    stratify=frame["diagnosis"],
)
Path("data").mkdir(exist_ok=True)
train.to_parquet("data/train.parquet", index=False)
test.to_parquet("data/test.parquet", index=False)
print(f"prepare: {len(train)} training rows, {len(test)} test rows")
