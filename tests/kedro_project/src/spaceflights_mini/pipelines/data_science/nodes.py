import pandas as pd


def split_data(data: pd.DataFrame, model_options: dict) -> tuple:
    features = model_options["features"]
    # An integer parameter used as one (a slice step), as spaceflights' random_state is: a
    # float here (8.0 instead of 8) raises TypeError, so a runner that hands Kedro floats fails.
    test_every = model_options["test_every"]
    test_mask = data.index.isin(data.index[::test_every])
    x = data[features]
    y = data["price"]
    return x[~test_mask], x[test_mask], y[~test_mask], y[test_mask]


def train_model(x_train: pd.DataFrame, y_train: pd.Series) -> dict:
    """A deliberately trivial 'model': the mean price per passenger."""
    per_passenger = float((y_train / x_train["passenger_capacity"]).mean())
    return {"price_per_passenger": per_passenger, "features": list(x_train.columns)}


def evaluate_model(regressor: dict, x_test: pd.DataFrame, y_test: pd.Series) -> dict:
    predicted = x_test["passenger_capacity"] * regressor["price_per_passenger"]
    mae = float((predicted - y_test).abs().mean()) if len(y_test) else 0.0
    return {"mae": mae, "n_test": int(len(y_test))}
