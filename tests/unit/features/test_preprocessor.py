"""The preprocessor learns from training rows only, groups rare categories, survives new ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from modelyard.errors import FeatureError
from modelyard.features.categories import RARE_CATEGORY
from modelyard.features.pipeline import make_pipeline
from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import build_preprocessor, prepare_frame
from modelyard.models.onnx import MISSING_CATEGORY


def fitted(spec: FeatureSpec, train: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    prepared = prepare_frame(train, spec)
    return prepared, build_preprocessor(spec).fit(prepared)


def encoded(preprocessor: object, spec: FeatureSpec, rows: pd.DataFrame) -> pd.DataFrame:
    names = preprocessor.get_feature_names_out()  # type: ignore[attr-defined]
    values = preprocessor.transform(prepare_frame(rows, spec))  # type: ignore[attr-defined]
    return pd.DataFrame(values, columns=names, index=rows.index)


def test_nothing_is_learnt_at_build_time(spec: FeatureSpec) -> None:
    preprocessor = build_preprocessor(spec)

    with pytest.raises(NotFittedError):
        check_is_fitted(preprocessor)
    for _, transformer, _ in preprocessor.transformers:
        for _, step in transformer.steps:
            assert not hasattr(step, "n_features_in_"), step


def test_scaler_and_imputer_learn_from_train_rows_only(
    raw: pd.DataFrame, spec: FeatureSpec
) -> None:
    data = raw.copy()
    data.loc[data.index[len(data) // 2 :], "amount"] += 1000.0  # the held-out half drifts
    train = data.iloc[: len(data) // 2]

    _, preprocessor = fitted(spec, train)

    numeric = preprocessor.named_transformers_["numeric"]
    median = train["amount"].median()
    assert numeric["impute"].statistics_[0] == pytest.approx(median)
    assert numeric["scale"].mean_[0] == pytest.approx(train["amount"].fillna(median).mean())
    assert numeric["scale"].mean_[0] < 200.0  # the drifted half would pull it past 500


def test_rare_categories_share_one_column(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    _, preprocessor = fitted(spec, raw)
    out = encoded(preprocessor, spec, raw)

    colour_columns = [c for c in out.columns if c.startswith("categorical__colour_")]
    assert colour_columns == [
        f"categorical__colour_{c}"
        for c in sorted([MISSING_CATEGORY, RARE_CATEGORY, "blue", "green", "red"])
    ]
    rare = raw["colour"].isin(["mauve", "teal"])
    assert (out.loc[rare, f"categorical__colour_{RARE_CATEGORY}"] == 1.0).all()
    assert out.loc[~rare, f"categorical__colour_{RARE_CATEGORY}"].sum() == 0.0


def test_unseen_categories_are_grouped_with_rare_ones(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    _, preprocessor = fitted(spec, raw)
    rows = raw.head(3).copy()
    rows["colour"] = ["mauve", "never-seen", "never-seen"]
    rows["code"] = [1, 99, 1]
    rows["size"] = ["S", "XXL", "S"]

    out = encoded(preprocessor, spec, rows)

    colours = out.filter(like="categorical__colour_")
    assert colours.iloc[1].equals(colours.iloc[0])
    assert out.filter(like="categorical__code_").iloc[1].sum() == 0.0  # no rare code seen in fit
    assert out["ordinal__size"].tolist()[1] == -1.0


def test_datetime_parts(spec: FeatureSpec, raw: pd.DataFrame) -> None:
    _, preprocessor = fitted(spec, raw)
    rows = raw.head(2).copy()
    rows["when"] = [pd.Timestamp("2024-03-15 17:30"), pd.NaT]  # a Friday

    out = encoded(preprocessor, spec, rows)

    parts = out[["datetime__when_hour", "datetime__when_weekday", "datetime__when_month"]]
    assert parts.iloc[0].tolist() == [17.0, 4.0, 3.0]
    assert parts.iloc[1].notna().all()  # imputed with the most frequent part


def test_unscaled_numeric_keeps_its_units(raw: pd.DataFrame) -> None:
    spec = FeatureSpec(numeric=("amount",), scale_numeric=False)
    _, preprocessor = fitted(spec, raw)

    out = encoded(preprocessor, spec, raw.head(5))

    expected = raw["amount"].head(5).fillna(raw["amount"].median())
    np.testing.assert_allclose(out["numeric__amount"], expected)


def test_empty_spec_is_refused() -> None:
    with pytest.raises(FeatureError, match=r"The feature spec names no columns"):
        build_preprocessor(FeatureSpec())


def test_make_pipeline_puts_preprocessing_before_the_model(spec: FeatureSpec) -> None:
    from sklearn.linear_model import LogisticRegression

    pipeline = make_pipeline(spec, LogisticRegression())

    assert [name for name, _ in pipeline.steps] == ["preprocess", "model"]
