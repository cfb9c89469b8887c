"""Where a dataset comes from: a plain value, cheap to import (``sources`` reads it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelyard.net import EgressPolicy


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where a dataset comes from; mirrors ``data.source`` in ``modelyard.yaml``.

    Attributes:
        uri: A path, glob or fsspec URI of CSV, Parquet or JSON Lines files, or a ``.duckdb`` file.
        url: A SQLAlchemy URL of a SQL database, read with ``query``.
        query: SQL to run on ``url``, on the ``.duckdb`` file, or alone in an in-memory DuckDB.
        format: ``csv``, ``parquet``, ``jsonl`` or ``duckdb``, when the extension does not say.
        options: Keyword arguments of the pandas reader (``read_csv``, ``read_parquet``,
            ``read_json``, ``read_sql``); ``storage_options`` go to fsspec (for an http(s)
            ``uri``, only ``headers``), ``params`` to DuckDB.
        egress: How an http(s) ``uri`` is fetched: the allowlist (``egress.allow_hosts``) and
            the bounds on time and size. Other sources ignore it.
    """

    uri: str | None = None
    url: str | None = None
    query: str | None = None
    format: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    egress: EgressPolicy = field(default_factory=EgressPolicy)
