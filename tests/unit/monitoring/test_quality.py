"""evaluate_quality and join_labels: metrics equal scikit-learn's, windows, the card, bad labels."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from modelyard.errors import ConfigValueError, DataError
from modelyard.monitoring.quality import evaluate_quality, join_labels

START = pd.Timestamp("2013-07-01", tz="UTC")


def binary_log(seed: int, rows: int, *, days: int = 3) -> pd.DataFrame:
    """A prediction log as join_feedback returns it: JSON-typed labels, text probability keys."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    positive = np.clip(0.5 * truth + rng.uniform(0.0, 0.5, rows) + rng.normal(0, 0.2, rows), 0, 1)
    offsets = np.sort(rng.uniform(0, days * 86_400, rows))
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(rows)],
            "row": 0,
            "timestamp": START + pd.to_timedelta(offsets, unit="s"),
            "prediction": [int(p >= 0.5) for p in positive],
            "probabilities": [{"0": 1.0 - p, "1": p} for p in positive],
            "label": pd.Series(truth.tolist(), dtype=object),
        }
    )


def expected_binary(frame: pd.DataFrame) -> dict[str, float]:
    true = np.asarray([int(v) for v in frame["label"]])
    pred = frame["prediction"].to_numpy(dtype=int)
    score = np.asarray([p["1"] for p in frame["probabilities"]])
    return {
        "roc_auc": skm.roc_auc_score(true, score),
        "pr_auc": skm.average_precision_score(true, score),
        "log_loss": skm.log_loss(true, score),
        "brier": skm.brier_score_loss(true, score),
        "accuracy": skm.accuracy_score(true, pred),
        "f1": skm.f1_score(true, pred),
        "precision": skm.precision_score(true, pred),
        "recall": skm.recall_score(true, pred),
    }


def test_binary_metrics_equal_sklearn(seed: int) -> None:
    log = binary_log(seed, 900)

    report = evaluate_quality(log, task="binary_classification", promised={})

    assert report is not None
    assert (report.labelled_rows, report.unlabelled_rows, report.unusable_rows) == (900, 0, 0)
    assert report.metrics == pytest.approx(expected_binary(log), rel=1e-12, abs=1e-12)
    assert list(report.metrics) == list(expected_binary(log))


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(str, id="text"),
        pytest.param(float, id="float"),
        pytest.param(lambda v: f" {v} ", id="padded-text"),
    ],
)
def test_labels_read_as_the_class_they_name(seed: int, encode: Any) -> None:
    log = binary_log(seed, 400)
    as_text = log.assign(label=[encode(v) for v in log["label"]])

    reference = evaluate_quality(log, task="binary_classification", promised={})
    report = evaluate_quality(as_text, task="binary_classification", promised={})

    assert reference is not None
    assert report is not None
    assert report.unusable_rows == 0
    assert report.metrics == reference.metrics


def test_explicit_classes_match_text_probability_keys(seed: int) -> None:
    log = binary_log(seed, 300)

    inferred = evaluate_quality(log, task="binary_classification", promised={})
    explicit = evaluate_quality(log, task="binary_classification", promised={}, classes=[0, 1])

    assert inferred is not None
    assert explicit is not None
    assert explicit.metrics == inferred.metrics
    assert "roc_auc" in explicit.metrics


def test_unlabelled_rows_are_counted_and_left_out(seed: int) -> None:
    log = binary_log(seed, 600)
    labels = log["label"].copy()
    labels[::3] = None
    labels[1::7] = math.nan
    log["label"] = labels
    labelled = log[[v is not None and v == v for v in labels]]

    report = evaluate_quality(log, task="binary_classification", promised={})

    assert report is not None
    assert report.labelled_rows == len(labelled)
    assert report.unlabelled_rows == 600 - len(labelled)
    assert report.metrics == pytest.approx(expected_binary(labelled), rel=1e-12, abs=1e-12)


def test_garbage_labels_are_counted_not_scored(seed: int) -> None:
    log = binary_log(seed, 300)
    labels = log["label"].copy()
    labels[0], labels[1], labels[2], labels[3] = "maybe", "maybe", [1], 2
    log["label"] = labels

    report = evaluate_quality(log, task="binary_classification", promised={})

    assert report is not None
    assert (report.labelled_rows, report.unusable_rows) == (296, 4)
    assert report.unusable_examples[0].startswith("label 'maybe' is not a class of ('0', '1')")
    assert len(report.unusable_examples) == 3
    assert report.metrics == pytest.approx(expected_binary(log.iloc[4:]), rel=1e-12)


def test_days_make_windows_and_small_ones_keep_only_their_count(seed: int) -> None:
    log = binary_log(seed, 900, days=3)
    day = log["timestamp"].dt.floor("1D")
    second_day = day == START + pd.Timedelta(days=1)
    # day 2: only 10 labels arrived; day 3: none yet
    keep_label = (day == START) | (second_day & (second_day.cumsum() <= 10))
    log["label"] = log["label"].where(keep_label, None)

    report = evaluate_quality(log, task="binary_classification", promised={}, min_rows=30)

    assert report is not None
    windows = [window.to_dict() for window in report.windows]
    assert [(w["start"], w["end"]) for w in windows] == [
        ("2013-07-01T00:00:00+00:00", "2013-07-02T00:00:00+00:00"),
        ("2013-07-02T00:00:00+00:00", "2013-07-03T00:00:00+00:00"),
        ("2013-07-03T00:00:00+00:00", "2013-07-04T00:00:00+00:00"),
    ]
    assert [w["rows"] for w in windows] == [int((day == START).sum()), 10, 0]
    first_day = log[day == START]
    assert windows[0]["metrics"] == pytest.approx(expected_binary(first_day), rel=1e-12)
    assert windows[1]["metrics"] == windows[2]["metrics"] == {}


def test_window_length_follows_freq(seed: int) -> None:
    log = binary_log(seed, 900, days=3)

    report = evaluate_quality(
        log, task="binary_classification", promised={}, freq="12h", min_rows=1
    )

    assert report is not None
    assert len(report.windows) == 6
    assert sum(window.rows for window in report.windows) == 900
    assert report.windows[1].start == (START + pd.Timedelta(hours=12)).to_pydatetime()


@pytest.mark.parametrize(
    ("auc_margin", "loss_factor", "degraded"),
    [
        pytest.param(0.04, 1.04, set(), id="within-tolerance"),
        pytest.param(0.06, 1.04, {"roc_auc"}, id="auc-fell"),
        pytest.param(-0.10, 1.06, {"log_loss"}, id="loss-rose"),
    ],
)
def test_card_comparison_flags_metrics_that_moved_the_bad_way(
    seed: int, auc_margin: float, loss_factor: float, degraded: set[str]
) -> None:
    log = binary_log(seed, 500)
    observed = expected_binary(log)
    promised = {
        "roc_auc": observed["roc_auc"] + auc_margin,
        "log_loss": observed["log_loss"] / loss_factor,
        "train_seconds": 12.0,  # not a quality metric: not compared
    }

    report = evaluate_quality(log, task="binary_classification", promised=promised)

    assert report is not None
    by_metric = {c.metric: c for c in report.comparisons}
    assert set(by_metric) == {"roc_auc", "log_loss"}
    assert {name for name, c in by_metric.items() if c.degraded} == degraded
    assert report.degraded is bool(degraded)
    auc, loss = by_metric["roc_auc"], by_metric["log_loss"]
    assert auc.change == pytest.approx(-auc_margin)
    assert (auc.tolerance, auc.higher_is_better) == (0.05, True)
    # log_loss is unbounded: its tolerance is 5 % of the promised value
    assert loss.tolerance == pytest.approx(0.05 * promised["log_loss"])
    assert loss.higher_is_better is False


def test_too_few_labels_report_metrics_but_judge_nothing(seed: int) -> None:
    log = binary_log(seed, 200)
    log["label"] = log["label"].where(log.index < 20, None)

    report = evaluate_quality(
        log, task="binary_classification", promised={"accuracy": 1.0}, min_rows=30
    )

    assert report is not None
    assert report.labelled_rows == 20
    assert "accuracy" in report.metrics
    assert (report.comparisons, report.degraded) == ((), False)


def test_regression_metrics_and_relative_tolerance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(50, 10, 400)
    predicted = truth + rng.normal(0, 3, 400)
    log = pd.DataFrame(
        {
            "timestamp": START + pd.to_timedelta(np.arange(400) * 600, unit="s"),
            "prediction": predicted.tolist(),
            "probabilities": None,
            "label": pd.Series([str(v) for v in truth], dtype=object),  # text, as JSON may be
        }
    )
    rmse = skm.root_mean_squared_error(truth, predicted)

    report = evaluate_quality(
        log, task="regression", promised={"rmse": rmse / 1.1, "r2": 0.0}, tolerance=0.05
    )

    assert report is not None
    assert report.metrics == pytest.approx(
        {
            "rmse": rmse,
            "mae": skm.mean_absolute_error(truth, predicted),
            "r2": skm.r2_score(truth, predicted),
            "mape": skm.mean_absolute_percentage_error(truth, predicted),
        },
        rel=1e-12,
    )
    by_metric = {c.metric: c for c in report.comparisons}
    assert by_metric["rmse"].degraded
    assert not by_metric["r2"].degraded
    assert by_metric["rmse"].tolerance == pytest.approx(0.05 * rmse / 1.1)


def test_regression_skips_labels_and_predictions_that_are_not_numbers(seed: int) -> None:
    log = pd.DataFrame(
        {
            "timestamp": START + pd.to_timedelta(np.arange(5), unit="h"),
            "prediction": [1.0, 2.0, None, 4.0, 5.0],
            "label": pd.Series([1.5, "n/a", 3.0, True, 4.0], dtype=object),
        }
    )

    report = evaluate_quality(log, task="regression", promised={}, min_rows=1)

    assert report is not None
    assert (report.labelled_rows, report.unusable_rows) == (2, 3)
    assert report.metrics["mae"] == pytest.approx(0.75)


def test_multiclass_metrics_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = ["bus", "car", "train"]
    proba = rng.dirichlet([1.0, 1.0, 1.0], 600)
    truth = np.array([rng.choice(3, p=0.5 * row + 0.5 / 3) for row in proba])
    log = pd.DataFrame(
        {
            "timestamp": START + pd.to_timedelta(np.arange(600) * 60, unit="s"),
            "prediction": [classes[i] for i in proba.argmax(axis=1)],
            "probabilities": [dict(zip(classes, row.tolist(), strict=True)) for row in proba],
            "label": pd.Series([classes[i] for i in truth], dtype=object),
        }
    )

    report = evaluate_quality(log, task="multiclass_classification", promised={"f1_macro": 0.99})

    assert report is not None
    assert report.metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(truth, proba.argmax(axis=1)),
            "f1_macro": skm.f1_score(truth, proba.argmax(axis=1), average="macro"),
            "log_loss": skm.log_loss(truth, proba, labels=[0, 1, 2]),
            "roc_auc_ovr": skm.roc_auc_score(truth, proba, multi_class="ovr"),
        },
        rel=1e-9,
    )
    assert report.degraded


def test_missing_probabilities_drop_only_the_score_metrics(seed: int) -> None:
    log = binary_log(seed, 200)
    log.loc[5, "probabilities"] = None

    report = evaluate_quality(log, task="binary_classification", promised={})

    assert report is not None
    assert set(report.metrics) == {"accuracy", "f1", "precision", "recall"}


@pytest.mark.parametrize(
    "labels",
    [
        pytest.param([None, None, None], id="none-yet"),
        pytest.param([], id="empty-log"),
    ],
)
def test_no_labels_means_no_report(labels: list[Any]) -> None:
    rows = len(labels)
    log = pd.DataFrame(
        {
            "timestamp": START + pd.to_timedelta(np.arange(rows), unit="h"),
            "prediction": [1] * rows,
            "label": pd.Series(labels, dtype=object),
        }
    )

    assert evaluate_quality(log, task="binary_classification", promised={}) is None


def test_report_dict_is_json_and_follows_the_schema(seed: int) -> None:
    log = binary_log(seed, 300, days=2)
    log.loc[:9, "label"] = None

    report = evaluate_quality(
        log, task="binary_classification", promised={"roc_auc": 0.7, "brier": math.nan}
    )

    assert report is not None
    out = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert list(out) == [
        "task", "labelled_rows", "unlabelled_rows", "unusable_rows", "unusable_examples",
        "metrics", "promised", "comparisons", "degraded", "windows",
    ]  # fmt: skip
    assert (out["labelled_rows"], out["unlabelled_rows"]) == (290, 10)
    assert out["promised"] == {"roc_auc": 0.7, "brier": None}
    assert [c["metric"] for c in out["comparisons"]] == ["roc_auc"]
    assert set(out["comparisons"][0]) == {
        "metric", "promised", "observed", "change", "tolerance", "higher_is_better", "degraded",
    }  # fmt: skip
    assert set(out["windows"][0]) == {"start", "end", "rows", "metrics"}


def test_join_labels_by_request_id_and_row(seed: int) -> None:
    log = binary_log(seed, 6).drop(columns="label")
    log["row"] = [0, 1, 0, 0, 0, 0]
    log["request_id"] = ["a", "a", "b", "c", "d", "e"]
    labels = pd.DataFrame(
        {
            "id": ["a", "a", "c", "c", "zzz"],
            "row": [1, 0, 0, 0, 0],
            "truth": [1, 0, 0, 1, 1],  # c labelled twice: the later line counts
        }
    )

    joined = join_labels(log, labels, id_column="id", label_column="truth")

    assert joined["label"].tolist() == [0, 1, None, 1, None, None]
    assert joined["labelled_at"].isna().all()
    assert len(joined) == len(log)


def test_join_labels_without_row_labels_first_records(seed: int) -> None:
    log = binary_log(seed, 3)
    log["request_id"], log["row"] = ["a", "a", "b"], [0, 1, 0]
    labels = pd.DataFrame({"request_id": ["a", "b"], "label": ["1", "0"]})

    joined = join_labels(log, labels)

    assert joined["label"].tolist() == ["1", None, "0"]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        pytest.param({"task": "binary_clasification"}, ConfigValueError, "Did you mean", id="task"),
        pytest.param({"freq": "MS"}, ConfigValueError, "not a fixed window length", id="freq"),
        pytest.param({"tolerance": -0.1}, ConfigValueError, "tolerance=-0.1", id="tolerance"),
        pytest.param({"min_rows": 0}, ConfigValueError, "min_rows=0", id="min-rows"),
        pytest.param({"classes": [1, "1"]}, DataError, "cannot be told apart", id="classes"),
    ],
)
def test_bad_settings_name_the_fix(
    seed: int, change: dict[str, Any], error: type[Exception], match: str
) -> None:
    settings: dict[str, Any] = {"task": "binary_classification", "promised": {}} | change

    with pytest.raises(error, match=match):
        evaluate_quality(binary_log(seed, 50), **settings)


def test_a_frame_without_labels_names_the_join() -> None:
    with pytest.raises(DataError, match=r"lacks the columns \['label'\].*join_feedback"):
        evaluate_quality(
            pd.DataFrame({"timestamp": [START], "prediction": [1]}),
            task="binary_classification",
            promised={},
        )
