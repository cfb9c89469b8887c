"""Join a feature spec's preprocessor and an estimator into one scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import build_preprocessor


def make_pipeline(spec: FeatureSpec, estimator: Any) -> Pipeline:
    """Return ``Pipeline([("preprocess", ...), ("model", estimator)])``, unfitted.

    Fitting the pipeline fits the preprocessor on the same (training) rows as the model, so
    nothing is learnt from validation or test rows. Feed it ``prepare_frame`` output.
    """
    return Pipeline([("preprocess", build_preprocessor(spec)), ("model", estimator)])
