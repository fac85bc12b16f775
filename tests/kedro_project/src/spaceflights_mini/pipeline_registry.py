"""Project pipelines."""

from kedro.pipeline import Pipeline

from spaceflights_mini.pipelines import data_processing, data_science, reporting


def register_pipelines() -> dict[str, Pipeline]:
    dp = data_processing.create_pipeline()
    ds = data_science.create_pipeline()
    rep = reporting.create_pipeline()
    return {
        "__default__": dp + ds + rep,
        "data_processing": dp,
        "data_science": ds + rep,
    }
