from kedro.pipeline import Pipeline, node, pipeline

from .nodes import evaluate_model, split_data, train_model


def create_pipeline(**kwargs) -> Pipeline:
    base = pipeline(
        [
            node(
                split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
            ),
            node(
                train_model,
                inputs=["X_train", "y_train"],
                outputs="regressor",
                name="train_model_node",
                tags=["training"],
            ),
            node(
                evaluate_model,
                inputs=["regressor", "X_test", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
                tags=["training"],
            ),
        ]
    )
    # X_train, X_test, y_train, y_test have no catalog entry: implicit MemoryDatasets named
    # `data_science.X_train`...; `data_science.metrics` is an explicit MemoryDataset.
    return pipeline(
        base,
        namespace="data_science",
        inputs={"model_input_table"},
        outputs={"regressor"},
    )
