"""Compare the datasets a pipeline run wrote with those of a plain `kedro run` (by content).

usage: kfplocal_compare.py REF_DIR RUN_DIR FILE... [--report-label LABEL]

Each FILE (relative to the project, e.g. data/03_primary/model_input_table.pq) must exist in
both and hold equal data: Parquet and CSV through pandas (frames compared with
pandas.testing), pickles loaded and compared (frames/series with pandas.testing, anything else
with ==). With --report-label, model_report.csv's run_label column must be LABEL in the run and
the rest equal to the reference (a `--param run_label=LABEL` override changed that output).
Exit 0 when everything matches; otherwise one line per difference and exit 1.
"""
import os
import pickle
import sys

import pandas as pd

args = sys.argv[1:]
label = None
if "--report-label" in args:
    i = args.index("--report-label")
    label = args[i + 1]
    del args[i : i + 2]
ref_dir, run_dir, files = args[0], args[1], args[2:]


def load(path):
    if path.endswith((".pq", ".parquet")):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    if path.endswith((".pickle", ".pkl")):
        with open(path, "rb") as f:
            return pickle.load(f)
    with open(path, "rb") as f:
        return f.read()


def equal(a, b):
    if isinstance(a, (pd.DataFrame, pd.Series)) or isinstance(b, (pd.DataFrame, pd.Series)):
        if type(a) is not type(b):
            return False
        try:
            (pd.testing.assert_frame_equal if isinstance(a, pd.DataFrame) else pd.testing.assert_series_equal)(a, b)
            return True
        except AssertionError:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


bad = []
for rel in files:
    ref, run = os.path.join(ref_dir, rel), os.path.join(run_dir, rel)
    if not os.path.exists(run):
        bad.append(f"{rel}: not written by the pipeline run")
        continue
    if not os.path.exists(ref):
        bad.append(f"{rel}: not written by the plain kedro run")
        continue
    a, b = load(ref), load(run)
    if label is not None and rel.endswith("model_report.csv"):
        if list(b["run_label"].unique()) != [label]:
            bad.append(f"{rel}: run_label is {list(b['run_label'].unique())}, expected [{label!r}]")
        if list(a["run_label"].unique()) == [label]:
            bad.append(f"{rel}: the reference already has run_label {label!r}; the override proves nothing")
        a = a.assign(run_label=label)
    if not equal(a, b):
        bad.append(f"{rel}: differs from the plain kedro run")
for line in bad:
    print("kfplocal-compare:", line)
sys.exit(1 if bad else 0)
