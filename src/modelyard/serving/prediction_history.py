"""Read the prediction and feedback logs back, for monitoring: windows of rows, labels joined.

No FastAPI here: monitoring imports this without the server.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.serving.prediction_log import (
    FEEDBACK_DIR,
    FEEDBACK_SCHEMA,
    PREDICTION_SCHEMA,
    PREDICTIONS_DIR,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

Moment = dt.datetime | dt.date | str | None
_META = ("request_id", "row", "timestamp", "model", "version", "prediction", "probabilities")
_LOGGED = ("request_id", "timestamp", "model", "version", "request", "response")


def read_predictions(
    store: Path | str, model: str, since: Moment = None, until: Moment = None
) -> pd.DataFrame:
    """Return the logged predictions of ``model`` with ``since <= timestamp < until``.

    Args:
        store: The project store (``.modelyard``).
        model: The registered model name.
        since: The window's start (naive values are UTC; a date means its midnight).
        until: The window's end, excluded.

    Returns:
        One row per predicted record, oldest first: ``request_id``, ``row`` (its index in the
        request), ``timestamp`` (UTC), ``model``, ``version``, ``prediction`` (label or value),
        ``probabilities`` (dict by class, or None), then one column per input field (a field
        named like one of those columns is prefixed ``input.``).
    """
    import pandas as pd

    requests = _read(Path(store) / PREDICTIONS_DIR, model, PREDICTION_SCHEMA, since, until)
    meta: dict[str, list[Any]] = {name: [] for name in _META}
    inputs: list[dict[str, Any]] = []
    logged = zip(*(requests[name] for name in _LOGGED), strict=True)
    for request_id, stamp, name, version, request, response in logged:
        outputs = json.loads(response)["predictions"]
        for row, (record, output) in enumerate(
            zip(json.loads(request)["records"], outputs, strict=True)
        ):
            prediction = output.get("label", output.get("value"))
            values = (request_id, row, stamp, name, version, prediction,
                      output.get("probabilities"))  # fmt: skip
            for key, value in zip(_META, values, strict=True):
                meta[key].append(value)
            inputs.append(record)
    frame = pd.DataFrame(meta, columns=list(_META))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    features = pd.DataFrame.from_records(inputs, index=frame.index)
    features.columns = [f"input.{c}" if c in _META else str(c) for c in features.columns]
    return pd.concat([frame, features], axis=1)


def read_feedback(
    store: Path | str, model: str, since: Moment = None, until: Moment = None
) -> pd.DataFrame:
    """Return the labels sent for ``model`` with ``since <= timestamp < until``, oldest first.

    Columns: ``request_id``, ``row``, ``timestamp``, ``model``, ``version`` (serving when the
    label arrived), ``label``, ``matched`` (whether the server knew the request id).
    """
    frame = _read(Path(store) / FEEDBACK_DIR, model, FEEDBACK_SCHEMA, since, until)
    frame["label"] = [json.loads(text) for text in frame["label"]]
    return frame


def join_feedback(predictions: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Return ``predictions`` with ``label`` and ``labelled_at`` from ``feedback``.

    Joined on (``request_id``, ``row``); when a record got several labels the latest counts.
    Predictions without a label keep ``label`` None and ``labelled_at`` NaT.
    """
    latest = (
        feedback.sort_values("timestamp")
        .drop_duplicates(["request_id", "row"], keep="last")
        .loc[:, ["request_id", "row", "label", "timestamp"]]
        .rename(columns={"timestamp": "labelled_at"})
    )
    joined = predictions.merge(latest, on=["request_id", "row"], how="left")
    joined["label"] = joined["label"].astype(object).where(joined["label"].notna(), None)
    return joined


def _read(root: Path, model: str, schema: pa.Schema, since: Moment, until: Moment) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from modelyard.errors import ServingError
    from modelyard.tracking._names import check_name

    check_name(model, what="model", error=ServingError)
    start, end = _moment(since), _moment(until)
    tables = []
    for folder in sorted((root / f"model={model}").glob("date=*")):
        day = _partition_day(folder.name)
        if day is None or (start and day < start.date()) or (end and day > end.date()):
            continue
        tables += [
            pq.read_table(path, schema=schema) for path in sorted(folder.glob("part-*.parquet"))
        ]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    if start is not None:
        table = table.filter(pc.greater_equal(table["timestamp"], pa.scalar(start, _ts(schema))))
    if end is not None:
        table = table.filter(pc.less(table["timestamp"], pa.scalar(end, _ts(schema))))
    keys = ["timestamp", "request_id"] + (["row"] if "row" in schema.names else [])
    return table.to_pandas().sort_values(keys, kind="stable").reset_index(drop=True)


def _ts(schema: pa.Schema) -> pa.DataType:
    return schema.field("timestamp").type


def parse_moment(value: Moment) -> dt.datetime | None:
    """Return ``value`` as an aware UTC datetime (naive means UTC; a date means midnight).

    Raises:
        MonitoringError: A string that is not an ISO date or datetime.
    """
    try:
        return _moment(value)
    except ValueError:
        from modelyard.errors import MonitoringError

        raise MonitoringError(
            f"{value!r} is not a date or time: write an ISO date (2026-11-25) or date and "
            "time (2026-11-25T08:00, UTC unless it names an offset)."
        ) from None


def _moment(value: Moment) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _partition_day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(name.removeprefix("date="))
    except ValueError:
        return None
