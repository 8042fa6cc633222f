"""Split scikit-learn's bundled breast-cancer data into train and test tables (no download).

The target `malignant` is 1 for a malignant tumour, so that recall is the share of malignant
tumours the model finds. `size` ("small" or "large", from the mean radius) is a slice column:
`mlops-ci evaluate` reports every metric on each size apart, and a gate in mlops.yaml holds
the recall on small tumours, the ones a model misses most. It is not a feature (train drops it).
"""

from pathlib import Path

import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]

frame = load_breast_cancer(as_frame=True).frame
frame["malignant"] = 1 - frame.pop("target")  # scikit-learn's target is 1 for benign
large = frame["mean radius"] >= params["large_radius"]
frame["size"] = large.map({True: "large", False: "small"})
train, test = train_test_split(
    frame,
    test_size=params["test_size"],
    random_state=params["seed"],
    stratify=frame["malignant"],
)
Path("data").mkdir(exist_ok=True)
train.to_parquet("data/train.parquet", index=False)
test.to_parquet("data/test.parquet", index=False)
print(f"prepare: {len(train)} training rows, {len(test)} test rows")
