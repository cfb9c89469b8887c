"""Small synthetic predictions, one set per task, drawn from the shared seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray


@dataclass(frozen=True)
class Predictions:
    """True values, predictions and (for classifiers) probabilities of one synthetic model."""

    y_true: NDArray[Any]
    y_pred: NDArray[Any]
    y_score: NDArray[np.float64] | None


@pytest.fixture
def binary(seed: int) -> Predictions:
    """400 rows of a fair binary classifier: scores correlate with the label."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 400)
    y_score = np.clip(0.35 * y_true + 0.65 * rng.random(400), 0.0, 1.0)
    return Predictions(y_true, (y_score >= 0.5).astype(int), y_score)


@pytest.fixture
def multiclass(seed: int) -> Predictions:
    """300 rows over classes a, b, c; the probability matrix favours the true class."""
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c"])
    codes = rng.integers(0, 3, 300)
    proba = rng.dirichlet(np.ones(3), 300) + np.eye(3)[codes]
    proba /= proba.sum(axis=1, keepdims=True)
    return Predictions(labels[codes], labels[proba.argmax(axis=1)], proba)


@pytest.fixture
def regression(seed: int) -> Predictions:
    """300 rows of a noisy linear fit, targets well away from zero."""
    rng = np.random.default_rng(seed)
    y_true = rng.normal(50.0, 10.0, 300)
    return Predictions(y_true, y_true + rng.normal(0.0, 3.0, 300), None)
