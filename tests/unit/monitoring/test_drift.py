"""detect_drift and prediction_drift: defaults, overrides, missing values, categories, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelyard.monitoring.drift import detect_drift, prediction_drift


def windows(seed: int, rows: int, shift: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(loc: float, colours: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(loc, size=rows),
                "colour": rng.choice(["red", "green", "blue"], size=rows, p=colours),
                "flag": rng.choice([True, False], size=rows),
            }
        )

    return frame(0.0, [0.5, 0.3, 0.2]), frame(shift, [0.5, 0.3, 0.2])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(1000, {"x": "ks", "colour": "chisquare", "flag": "z"}, id="small"),
        pytest.param(
            1001,
            {"x": "wasserstein", "colour": "jensenshannon", "flag": "jensenshannon"},
            id="large",
        ),
    ],
)
def test_default_methods_follow_evidently(seed: int, rows: int, expected: dict[str, str]) -> None:
    reference, current = windows(seed, rows)

    report = detect_drift(reference, current)

    assert {c.column: c.method for c in report.columns} == expected
    assert [c.kind for c in report.columns] == ["numeric", "categorical", "categorical"]


def test_small_windows_test_and_large_ones_measure_distance(seed: int) -> None:
    small = detect_drift(*windows(seed, 500))["x"]
    large = detect_drift(*windows(seed, 5000))["x"]

    assert small.p_value is not None
    assert small.threshold == 0.05
    assert large.p_value is None
    assert large.threshold == 0.1


def test_a_shift_is_found_and_reported(seed: int) -> None:
    reference, current = windows(seed, 2000, shift=1.0)

    report = detect_drift(reference, current, drift_share=0.3)

    assert report.drifted_columns == ("x",)
    assert report.n_drifted == 1
    assert report.dataset_drifted  # 1 of 3 columns >= 0.3
    assert report.share_drifted == pytest.approx(1 / 3)
    assert report["x"].statistic == pytest.approx(
        stats.wasserstein_distance(reference["x"], current["x"]) / np.std(reference["x"])
    )


def test_a_numeric_column_with_few_values_is_compared_as_categories(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"stars": rng.integers(1, 5, size=3000).astype(float)})
    current = pd.DataFrame({"stars": rng.integers(1, 5, size=3000).astype(float)})

    verdict = detect_drift(reference, current)["stars"]

    assert (verdict.kind, verdict.method) == ("numeric", "jensenshannon")
    assert verdict.details["binning"] == "distinct values"


def test_integer_columns_with_few_values_are_categorical_like_evidently(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"level": rng.integers(0, 5, 100), "age": rng.integers(0, 90, 100)})

    report = detect_drift(reference, reference.copy())

    assert [c.kind for c in report.columns] == ["categorical", "numeric"]


def test_methods_and_thresholds_can_be_chosen_per_column_kind_and_method(seed: int) -> None:
    reference, current = windows(seed, 3000)

    report = detect_drift(
        reference,
        current,
        methods={"numeric": "ks", "colour": "psi", "flag": "chisquare"},
        thresholds={"psi": 0.2, "flag": 0.01, "x": 0.001},
    )

    assert [(c.method, c.threshold) for c in report.columns] == [
        ("ks", 0.001),
        ("psi", 0.2),
        ("chisquare", 0.01),
    ]


def test_alpha_is_the_default_threshold_of_tests(seed: int) -> None:
    report = detect_drift(*windows(seed, 300), alpha=0.01)

    assert {c.threshold for c in report.columns} == {0.01}


def test_numeric_psi_uses_reference_quantile_bins(seed: int) -> None:
    reference, current = windows(seed, 5000, shift=0.5)

    verdict = detect_drift(reference, current, methods={"x": "psi"}, n_bins=10)["x"]

    assert verdict.details["binning"] == "10 reference-quantile bins"
    assert verdict.drifted
    assert verdict.statistic > 0.2


def test_unseen_categories_are_reported_most_frequent_first() -> None:
    reference = pd.DataFrame({"city": ["a", "b", "c"] * 100})
    current = pd.DataFrame({"city": ["a", "b"] * 100 + ["new"] * 60 + ["rare"] * 3})

    verdict = detect_drift(reference, current)["city"]

    assert verdict.unseen_categories == ("new", "rare")
    assert verdict.details["vanished_categories"] == ["c"]
    assert verdict.drifted


def test_unseen_categories_drift_the_chisquare_test() -> None:
    reference = pd.DataFrame({"city": ["a", "b"] * 300})
    current = pd.DataFrame({"city": ["a", "b"] * 290 + ["new"] * 20})

    verdict = detect_drift(reference, current)["city"]

    assert verdict.method == "chisquare"
    assert verdict.drifted
    assert verdict.p_value is not None
    assert verdict.p_value < 1e-4


def test_missing_values_are_left_out_and_their_rates_reported(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame({"x": rng.normal(size=1000), "c": ["u", "v"] * 500})
    current = pd.DataFrame(
        {"x": rng.normal(size=1000), "c": pd.Series(["u", "v"] * 500, dtype=object)}
    )
    reference.loc[:99, "x"] = np.nan
    current.loc[:399, "x"] = np.nan
    current.loc[:9, "x"] = np.inf
    current.loc[:249, "c"] = None

    report = detect_drift(reference, current, columns={"x": "numeric", "c": "categorical"})

    x, c = report["x"], report["c"]
    assert (x.reference_missing_rate, x.current_missing_rate) == (0.1, 0.4)
    assert x.missing_rate_change == pytest.approx(0.3)
    assert c.current_missing_rate == 0.25
    ref_x = reference["x"].dropna().to_numpy()
    cur_x = current["x"].iloc[400:].to_numpy(dtype=float)
    assert x.statistic == pytest.approx(stats.ks_2samp(ref_x, cur_x).statistic, abs=1e-12)
    assert x.p_value == pytest.approx(stats.ks_2samp(ref_x, cur_x).pvalue, abs=1e-12)


def test_a_column_that_went_missing_counts_as_drifted() -> None:
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    current = pd.DataFrame({"x": [np.nan] * 2, "c": [None, None]})

    report = detect_drift(reference, current)

    for verdict in report.columns:
        assert verdict.drifted
        assert np.isnan(verdict.statistic)
        assert verdict.current_missing_rate == 1.0
        assert verdict.details["reason"] == "a window has no non-missing values"


def test_constant_columns_do_not_drift_unless_the_constant_moves() -> None:
    reference = pd.DataFrame({"same": [3.0] * 2000, "moved": [3.0] * 2000})
    current = pd.DataFrame({"same": [3.0] * 2000, "moved": [3.5] * 2000})

    report = detect_drift(reference, current)

    assert not report["same"].drifted
    assert report["moved"].drifted


def test_frames_built_from_arrays_are_compared_by_column_position(seed: int) -> None:
    rng = np.random.default_rng(seed)

    report = detect_drift(
        pd.DataFrame(rng.normal(size=(50, 2))), pd.DataFrame(rng.normal(size=(40, 2)))
    )

    assert [c.column for c in report.columns] == ["0", "1"]


def test_report_to_dict_is_strict_json(seed: int) -> None:
    reference, current = windows(seed, 200)
    current.loc[:, "x"] = np.nan

    document = detect_drift(reference, current).to_dict()

    text = json.dumps(document, allow_nan=False)
    assert json.loads(text)["columns"][0]["statistic"] is None
    assert set(document) >= {"dataset_drifted", "n_drifted", "drift_share", "columns"}


def test_prediction_drift_on_scores_and_on_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = prediction_drift(rng.beta(2, 5, 4000), rng.beta(2.6, 5, 4000))
    labels = prediction_drift(
        rng.choice(["yes", "no"], 800), rng.choice(["yes", "no"], 800, p=[0.7, 0.3]), "categorical"
    )
    stable = prediction_drift(rng.normal(size=500), rng.normal(size=500), method="ks")

    assert (scores.column, scores.method, scores.drifted) == ("prediction", "wasserstein", True)
    assert (labels.method, labels.drifted) == ("z", True)
    assert (stable.method, stable.drifted) == ("ks", False)


def test_importing_monitoring_loads_neither_pandas_nor_scipy() -> None:
    code = (
        "import json, sys\nimport modelyard.monitoring, modelyard.monitoring.drift\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    modules = set(json.loads(out.strip().splitlines()[-1]))

    assert {"pandas", "scipy"} & modules == set()
