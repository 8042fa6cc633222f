"""Split scikit-learn's bundled diabetes data into train and test tables (no download).

The target is a measure of disease progression one year after baseline. The features are in
their original units (`scaled=False`): age in years, sex coded 1 or 2, body mass index, blood
pressure and six blood serum measurements. `sex` is a feature and a slice column; `age_group`
("under 40", "40 to 59", "60 and over") is a slice column only (train drops it):
`mlops-ci evaluate` reports every metric on each group apart, and mlops.yaml gates one.
"""

from pathlib import Path

import pandas as pd
import yaml
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]

frame = load_diabetes(as_frame=True, scaled=False).frame
frame["sex"] = frame["sex"].astype(int)
frame["age_group"] = pd.cut(
    frame["age"], [0, 40, 60, 200], right=False, labels=["under 40", "40 to 59", "60 and over"]
).astype(str)
train, test = train_test_split(frame, test_size=params["test_size"], random_state=params["seed"])
Path("data").mkdir(exist_ok=True)
train.to_parquet("data/train.parquet", index=False)
test.to_parquet("data/test.parquet", index=False)
print(f"prepare: {len(train)} training rows, {len(test)} test rows")
