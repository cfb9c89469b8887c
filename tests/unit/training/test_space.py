"""Search spaces from config data: typed when well formed, a fix-naming error when not."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest

from modelyard.errors import SearchSpaceError
from modelyard.training.space import (
    CategoricalParam,
    FloatParam,
    IntParam,
    SearchSpace,
    parse_space,
    suggest,
)

LIGHTGBM_SPACE = {
    "num_leaves": {"int": [15, 255], "log": True},
    "learning_rate": {"float": [0.01, 0.2], "log": True},
    "max_depth": {"int": [3, 12], "step": 1},
    "boosting": {"categorical": ["gbdt", "dart"]},
}


def test_parse_space_types_each_parameter() -> None:
    space = parse_space(LIGHTGBM_SPACE)

    assert space == SearchSpace(
        params=(
            IntParam("num_leaves", 15, 255, log=True),
            FloatParam("learning_rate", 0.01, 0.2, log=True),
            IntParam("max_depth", 3, 12, step=1),
            CategoricalParam("boosting", ("gbdt", "dart")),
        )
    )
    assert space.names == ("num_leaves", "learning_rate", "max_depth", "boosting")


def test_parse_space_keeps_steps_and_mixed_choices() -> None:
    space = parse_space(
        {
            "subsample": {"float": [0.5, 1], "step": 0.1},
            "min_child": {"int": [2, 20], "step": 6},
            "class_weight": {"categorical": [None, "balanced", 1, True]},
        }
    )

    assert space.params == (
        FloatParam("subsample", 0.5, 1.0, step=0.1),
        IntParam("min_child", 2, 20, step=6),
        CategoricalParam("class_weight", (None, "balanced", 1, True)),
    )


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        pytest.param({"flaot": [0.1, 1.0]}, r"parameter 'p': unknown kind 'flaot'\. Did you mean 'float'\? Give one of: int, float, categorical", id="unknown-kind"),
        pytest.param({"int": [10, 10]}, r"'p': low 10 is not below high 10\. Write \[low, high\] with low < high", id="low-equals-high"),
        pytest.param({"float": [0.9, 0.1]}, r"low 0\.9 is not below high 0\.1", id="low-above-high"),
        pytest.param({"float": [0.0, 1.0], "log": True}, r"log scale needs low > 0, got low 0\.0\. Raise low", id="log-float-zero"),
        pytest.param({"int": [-3, 10], "log": True}, r"log scale needs low > 0, got low -3", id="log-int-negative"),
        pytest.param({"categorical": []}, r"categorical takes a non-empty list of choices, got \[\]", id="empty-choices"),
        pytest.param({"categorical": "gbdt"}, r"non-empty list of choices, got 'gbdt'", id="choices-string"),
        pytest.param({"float": [0.1, 1.0], "lg": True}, r"unknown key 'lg' for a float parameter\. Did you mean 'log'\? It takes: log, step", id="extra-key"),
        pytest.param({"categorical": ["a"], "log": True}, r"unknown key 'log' for a categorical parameter\. It takes no options", id="categorical-option"),
        pytest.param({"int": [1, 5], "float": [1.0, 5.0]}, r"gives 2 kinds \(int, float\)\. Keep one", id="two-kinds"),
        pytest.param({}, r"no kind in \{\}", id="empty-spec"),
        pytest.param({"log": True}, r"no kind in \{'log': True\}\. Give one of", id="options-only"),
        pytest.param([1, 10], r"expected a spec like \{'float': \[0\.01, 0\.2\]\}, got \[1, 10\]", id="not-a-mapping"),
        pytest.param({"int": [1, 10, 100]}, r"int takes \[low, high\], got \[1, 10, 100\]", id="three-bounds"),
        pytest.param({"int": [1.5, 10]}, r"int bounds must be whole numbers, got \[1\.5, 10\]", id="fractional-int"),
        pytest.param({"float": [False, 1.0]}, r"float bounds must be finite numbers", id="bool-bound"),
        pytest.param({"float": [0.0, math.inf]}, r"float bounds must be finite numbers", id="infinite-bound"),
        pytest.param({"float": [0.1, 1.0], "log": "yes"}, r"log must be true or false, got 'yes'", id="log-not-bool"),
        pytest.param({"int": [1, 100], "log": True, "step": 5}, r"log and step cannot be combined", id="int-log-and-step"),
        pytest.param({"float": [0.1, 1.0], "log": True, "step": 0.1}, r"log and step cannot be combined", id="float-log-and-step"),
        pytest.param({"int": [3, 12], "step": 2}, r"range \[3, 12\] is not a whole number of steps of 2\. Set high to 11 or 13", id="int-step-misfit"),
        pytest.param({"float": [0.0, 1.0], "step": 0.3}, r"steps of 0\.3\. Set high to 0\.9\.", id="float-step-misfit"),
        pytest.param({"int": [1, 10], "step": 0}, r"int step must be a whole number >= 1, got 0", id="zero-step"),
        pytest.param({"categorical": ["gbdt", "gbdt"]}, r"choice 'gbdt' is listed twice", id="duplicate-choice"),
        pytest.param({"categorical": [["a"], "b"]}, r"choice \['a'\] is not a string, number, boolean or null", id="list-choice"),
    ],
)  # fmt: skip
def test_parse_space_names_the_parameter_and_the_fix(spec: Any, match: str) -> None:
    with pytest.raises(SearchSpaceError, match=match):
        parse_space({"p": spec})


def test_parse_space_lists_every_malformed_parameter() -> None:
    with pytest.raises(SearchSpaceError) as caught:
        parse_space(
            {"a": {"int": [5, 1]}, "b": {"float": [0.1, 0.2]}, "c": {"categorical": []}},
            where="training.search.space",
        )

    message = str(caught.value)
    assert message.startswith("Invalid training.search.space (2 problems):\n")
    assert "  - parameter 'a': low 5 is not below high 1" in message
    assert "  - parameter 'c': categorical takes a non-empty list" in message
    assert "'b'" not in message


@pytest.mark.parametrize(
    "data",
    [pytest.param({}, id="empty"), pytest.param(["lr"], id="list")],
)
def test_parse_space_needs_a_non_empty_mapping(data: Any) -> None:
    with pytest.raises(SearchSpaceError, match=r"expected a non-empty mapping of parameter name"):
        parse_space(data)


def test_suggest_samples_inside_each_parameter(seed: int) -> None:
    space = parse_space(
        {
            **LIGHTGBM_SPACE,
            "min_child": {"int": [2, 20], "step": 6},
            "subsample": {"float": [0.5, 1.0], "step": 0.25},
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))

    for _ in range(30):
        values = suggest(study.ask(), space)

        assert list(values) == list(space.names)
        assert isinstance(values["num_leaves"], int)
        assert 15 <= values["num_leaves"] <= 255
        assert 0.01 <= values["learning_rate"] <= 0.2
        assert 3 <= values["max_depth"] <= 12
        assert values["boosting"] in {"gbdt", "dart"}
        assert values["min_child"] in {2, 8, 14, 20}
        assert values["subsample"] in {0.5, 0.75, 1.0}
