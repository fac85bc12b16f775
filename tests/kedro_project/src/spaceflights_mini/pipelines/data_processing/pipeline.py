from kedro.pipeline import Pipeline, node, pipeline

from .nodes import create_model_input_table, preprocess_companies, preprocess_shuttles


def create_pipeline(**kwargs) -> Pipeline:
    base = pipeline(
        [
            node(
                preprocess_companies,
                inputs="companies",
                outputs="preprocessed_companies",
                name="preprocess_companies_node",
                tags=["preprocessing"],
            ),
            node(
                preprocess_shuttles,
                inputs="shuttles",
                outputs="preprocessed_shuttles",
                name="preprocess_shuttles_node",
                tags=["preprocessing"],
            ),
            node(
                create_model_input_table,
                inputs=[
                    "preprocessed_shuttles",
                    "preprocessed_companies",
                    "reviews",
                    "params:min_passenger_capacity",
                ],
                outputs="model_input_table",
                name="create_model_input_table_node",
                tags=["tables", "features"],
            ),
        ]
    )
    # Namespaced: node names, intermediate datasets and parameters get the `data_processing.`
    # prefix, except the raw inputs and the final table, which are shared with other pipelines.
    return pipeline(
        base,
        namespace="data_processing",
        inputs={"companies", "shuttles", "reviews"},
        outputs={"model_input_table"},
    )
