import pandas as pd


def make_report(metrics: dict, run_label: str) -> pd.DataFrame:
    rows = [{"metric": k, "value": v} for k, v in sorted(metrics.items())]
    report = pd.DataFrame(rows)
    report["run_label"] = run_label
    return report
