from kedro.pipeline import Pipeline, node, pipeline

from .nodes import make_report


def create_pipeline(**kwargs) -> Pipeline:
    # Not namespaced: a node without a namespace, reading a namespaced dataset.
    return pipeline(
        [
            node(
                make_report,
                inputs=["data_science.metrics", "params:run_label"],
                outputs="model_report",
                name="report_node",
                tags=["reporting"],
            ),
        ]
    )
