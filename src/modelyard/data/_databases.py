"""Run a source's query on DuckDB or on a SQL database, for ``modelyard.data.sources``.

Every failure becomes a ``DataError`` that names the database (a URL with its password masked)
and the fix; nothing here prints or keeps a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import sqlalchemy
from sqlalchemy import exc as sa_exc

from modelyard.config.secrets import mask_url_passwords
from modelyard.errors import SourceConnectionError, SourceNotFoundError, SourceReadError

_NO_FILES = re.compile(r'No files found that match the pattern "([^"]+)"')
_DRIVER_FIX = (
    "Install the driver: pip install 'modelyard[postgres]' for PostgreSQL "
    "(postgresql+psycopg://...), or the package that provides it for another database."
)


def read_duckdb(
    query: str, options: Mapping[str, Any], *, base_dir: Path, database: Path | None = None
) -> pd.DataFrame:
    """Run ``query`` on the DuckDB file ``database`` (read-only), or in memory when it is None.

    Relative file paths in the query are relative to ``base_dir``, whatever the process's
    working directory; ``options["params"]``, if given, fills the query's ``?`` placeholders.
    """
    where = str(database) if database else f"DuckDB query {shorten(query)}"
    try:
        connection = duckdb.connect(
            str(database) if database else ":memory:", read_only=bool(database)
        )
    except duckdb.Error as exc:
        raise SourceReadError(where, f"not a DuckDB database: {describe_problem(exc)}") from exc
    folder = str(base_dir.resolve()).replace("'", "''")
    try:
        with connection:
            connection.execute("SET enable_progress_bar = false")
            connection.execute(f"SET file_search_path = '{folder}'")
            # Local files only: http(s) goes through the egress client (data.source.uri),
            # and a query may neither install nor load an extension, nor unlock this.
            connection.execute("SET allowed_directories = ['/']")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            return connection.execute(query, options.get("params")).df()
    except duckdb.IOException as exc:
        missing = _NO_FILES.search(str(exc))
        if missing:
            raise SourceNotFoundError(
                str(base_dir / missing[1]),
                fix=f"Check the paths in data.source.query (relative to {base_dir}).",
            ) from exc
        raise SourceReadError(where, describe_problem(exc)) from exc
    except duckdb.PermissionException as exc:
        raise SourceReadError(
            where,
            f"the query reaches outside local files: {describe_problem(exc)}",
            fix="Read http(s) data with data.source.uri (checked by the egress client), and "
            "keep DuckDB queries to local files.",
        ) from exc
    except duckdb.Error as exc:
        raise SourceReadError(
            where,
            f"the query failed: {describe_problem(exc)}",
            fix="Check data.source.query (table, column and file names, DuckDB SQL).",
        ) from exc


def read_sql(url: str, query: str | None, options: Mapping[str, Any]) -> pd.DataFrame:
    """Run ``query`` on the database at the SQLAlchemy ``url``; ``options`` go to ``read_sql``."""
    shown = mask_url_passwords(url)
    if not query:
        raise SourceReadError(
            shown, "a SQL source needs a query", fix="Add data.source.query: select * from t."
        )
    try:
        engine = sqlalchemy.create_engine(url)
    except ModuleNotFoundError as exc:
        raise SourceReadError(
            shown, f"the database driver {exc.name!r} is not installed", fix=_DRIVER_FIX
        ) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise SourceReadError(
            shown,
            f"not a SQLAlchemy URL ({describe_problem(exc)})",
            fix="Write it as dialect+driver://user:password@host:port/database.",
        ) from exc
    try:
        try:
            connection = engine.connect()
        except sa_exc.DBAPIError as exc:
            raise SourceConnectionError(shown, describe_problem(exc.orig or exc)) from exc
        with connection:
            try:
                return pd.read_sql(sqlalchemy.text(query), connection, **options)
            except (sa_exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
                # pandas wraps the driver's error; its message names the table or column.
                cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
                problem = describe_problem(getattr(cause, "orig", None) or cause or exc)
                raise SourceReadError(
                    shown,
                    f"the query failed: {problem}",
                    fix="Check data.source.query (table and column names, the database's SQL).",
                ) from exc
    finally:
        engine.dispose()


def describe_problem(exc: BaseException) -> str:
    """Return the first lines of an exception's message, on one line, without passwords."""
    text = " ".join(line.strip() for line in str(exc).splitlines()[:3] if line.strip())
    text = mask_url_passwords(text).rstrip(".")
    return shorten(text, 300) if text else type(exc).__name__


def shorten(text: str, limit: int = 80) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
