"""A dataset as an MLflow run input: name, digest, source and schema, never the rows."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MAX_DIGEST = 36  # MLflow's dataset digest column
SOURCE_TYPE = "modelyard"


def dataset_input(
    *, name: str, digest: str, source: str, frame: pd.DataFrame | None, context: str
) -> Any:
    """Build an ``mlflow.entities.DatasetInput`` that records a dataset by digest."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    schema = profile = None
    if frame is not None:
        columns = [
            {"type": _column_type(dtype), "name": str(column), "required": True}
            for column, dtype in frame.dtypes.items()
        ]
        schema = json.dumps({"mlflow_colspec": columns})
        profile = json.dumps({"num_rows": len(frame), "num_elements": int(frame.size)})
    dataset = Dataset(
        name=name,
        digest=digest[:MAX_DIGEST],
        source_type=SOURCE_TYPE,
        source=json.dumps({"uri": source}),
        schema=schema,
        profile=profile,
    )
    tags = [InputTag("mlflow.data.context", context), InputTag("modelyard.digest", digest[:500])]
    return DatasetInput(dataset, tags)


def _column_type(dtype: Any) -> str:
    from pandas.api import types

    if types.is_bool_dtype(dtype):
        return "boolean"
    if types.is_integer_dtype(dtype):
        return "long"
    if types.is_float_dtype(dtype):
        return "double"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"
