"""Every error modelyard raises on purpose.

Each message says what failed, the offending value, and how to fix it. The CLI prints the
message of a ``ModelyardError`` on stderr and exits 1, without a traceback; anything else is a
bug and keeps its traceback.

The tree::

    ModelyardError
    ├── ConfigError
    │   ├── ConfigNotFoundError        (FileNotFoundError)  no modelyard.yaml, overlay or file
    │   ├── ConfigSyntaxError          (ValueError)         YAML that does not parse
    │   ├── ConfigValueError           (ValueError)         unknown keys, wrong types, bad values
    │   └── InterpolationError         (KeyError)           ${VAR} unset and no default
    ├── DataError
    │   ├── SourceNotFoundError        (FileNotFoundError)  a path or glob that matches nothing
    │   ├── SourceReadError            (OSError)            a file that cannot be read
    │   ├── SourceConnectionError      (ConnectionError)    a database that refuses to connect
    │   ├── ContractError              (ValueError)         a data contract that is invalid
    │   ├── ContractViolationError                          data that breaks its contract
    │   ├── SplitError                 (ValueError)         a split that cannot be made
    │   └── NotIngestedError           (LookupError)        `modelyard data ingest` not run yet
    ├── FeatureError                   (ValueError)         a feature column missing or unusable
    ├── ModelError
    │   ├── UnknownModelError          (LookupError)        a model type not in the catalog
    │   └── ModelExportError                                an ONNX export failed or lost parity
    ├── TrainingError
    │   └── SearchSpaceError           (ValueError)         a search space that cannot be sampled
    ├── TrackingError                                       the tracking store (MLflow) failed
    │   └── TrackingConnectionError    (ConnectionError)    the tracking store is unreachable
    ├── RegistryError
    │   ├── ModelNotFoundError         (LookupError)        no such model, version or alias
    │   ├── ArtifactIntegrityError                          files that do not match the manifest
    │   └── UnsafeArtifactError                             a format that could run code on load
    ├── PipelineError                                       a pipeline step failed
    ├── ServingError                   (ValueError)         a server that cannot start as asked
    ├── MonitoringError                (ValueError)         nothing to monitor, or a bad window
    │   └── WebhookRefusedError        (ValueError)         an alert target that is not allowed
    ├── EgressError                                         an outbound HTTP(S) fetch not made
    │   ├── EgressRefusedError         (ValueError)         a URL not called: non-public, bad form
    │   └── EgressFailedError          (ConnectionError)    no answer: DNS, TLS, timeout, redirects
    └── ExampleError                   (ValueError)         an unknown example or a busy folder
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.data.report import ValidationReport


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest choice, or "" when none is close."""
    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


class ModelyardError(Exception):
    """Base class of every error modelyard raises on purpose."""


# --- configuration ---------------------------------------------------------------------------


class ConfigError(ModelyardError):
    """The project configuration cannot be loaded."""


class ConfigNotFoundError(ConfigError, FileNotFoundError):
    """A config file, or a file the config names, does not exist."""

    def __init__(self, path: object, *, what: str = "config file", fix: str = "") -> None:
        self.path = str(path)
        fix = fix or "Run modelyard from a project folder, or pass --project DIR."
        super().__init__(f"No {what} at {self.path!r}. {fix}")

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno-style
        return str(self.args[0])


class ConfigSyntaxError(ConfigError, ValueError):
    """A YAML file does not parse."""

    def __init__(self, path: object, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(
            f"{where}: invalid YAML: {problem}. Fix the syntax at that line "
            "(check indentation, unclosed quotes or brackets, and ':' after each key)."
        )


class ConfigValueError(ConfigError, ValueError):
    """The config parses but holds unknown keys, wrong types or bad values."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"Invalid configuration: {self.problems[0]}"
        else:
            body = "\n".join(f"  - {p}" for p in self.problems)
            message = f"Invalid configuration ({len(self.problems)} problems):\n{body}"
        super().__init__(message)


class InterpolationError(ConfigError, KeyError):
    """A ``${VAR}`` reference names an environment variable that is not set."""

    def __init__(self, variable: str, *, where: str) -> None:
        self.variable, self.where = variable, where
        super().__init__(
            f"{where}: environment variable {variable!r} is not set. Export it "
            f"(export {variable}=...), or give a default: ${{{variable}:-value}}."
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


# --- data ------------------------------------------------------------------------------------


class DataError(ModelyardError):
    """Data cannot be read, split or trusted."""


class SourceNotFoundError(DataError, FileNotFoundError):
    """A data source path or glob matches no file."""

    def __init__(self, uri: str, *, fix: str = "") -> None:
        self.uri = uri
        fix = fix or "Check data.source.uri in modelyard.yaml (paths are relative to the project)."
        super().__init__(f"No data at {uri!r}. {fix}")

    def __str__(self) -> str:
        return str(self.args[0])


class SourceReadError(DataError, OSError):
    """A data file exists but cannot be read (corrupt, wrong format, unreadable)."""

    def __init__(self, uri: str, problem: str, *, fix: str = "") -> None:
        self.uri, self.problem = uri, problem
        fix = fix or "Check that the file is complete and that its extension matches its format."
        super().__init__(f"Cannot read {uri!r}: {problem}. {fix}")

    def __str__(self) -> str:
        return str(self.args[0])


class SourceConnectionError(DataError, ConnectionError):
    """A database source refuses or drops the connection."""

    def __init__(self, url: str, problem: str) -> None:
        self.url, self.problem = url, problem
        super().__init__(
            f"Cannot connect to {url!r}: {problem}. Check that the database server is running "
            "and reachable, and that host, port, user and database in the URL are right."
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ContractError(DataError, ValueError):
    """A data contract file is itself invalid."""


class ContractViolationError(DataError):
    """Data breaks its contract; ``report`` lists each failing check."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        failing = ", ".join(sorted({f.column for f in report.failures}))
        super().__init__(
            f"Data from {report.source!r} breaks its contract {report.contract!r}: "
            f"{len(report.failures)} failing checks (columns: {failing}). Nothing downstream ran. "
            "Fix the data, or the contract if the data is right; "
            "`modelyard data validate --json` gives the full report."
        )


class SplitError(DataError, ValueError):
    """A split cannot be made from this data and these settings."""


class NotIngestedError(DataError, LookupError):
    """A step needs the ingested dataset, and there is none yet."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"No ingested dataset at {self.path!r}. Run `modelyard data ingest` first."
        )


# --- features, models, training ----------------------------------------------------------------


class FeatureError(ModelyardError, ValueError):
    """A configured feature column is missing from the data or cannot be used."""


class ModelError(ModelyardError):
    """A model cannot be built or exported."""


class UnknownModelError(ModelError, LookupError):
    """A model type names nothing in the catalog and is not an importable dotted path."""

    def __init__(self, name: str, *, known: Iterable[str]) -> None:
        self.name, self.known = name, sorted(known)
        hint = did_you_mean(name, self.known) or f" Known models: {', '.join(self.known)}."
        super().__init__(
            f"Unknown model type {name!r}.{hint} Any scikit-learn-compatible estimator also "
            "works by dotted path, e.g. sklearn.ensemble.ExtraTreesClassifier."
        )

    def __str__(self) -> str:
        return str(self.args[0])


class ModelExportError(ModelError):
    """A model could not be exported (to ONNX), or the export disagrees with the model."""


class TrainingError(ModelyardError):
    """A model could not be trained."""


class SearchSpaceError(TrainingError, ValueError):
    """A hyper-parameter search space is malformed."""


# --- tracking and registry -----------------------------------------------------------------------


class TrackingError(ModelyardError):
    """The tracking store (MLflow) failed."""


class TrackingConnectionError(TrackingError, ConnectionError):
    """The tracking store cannot be reached."""


class RegistryError(ModelyardError):
    """The model registry refused or failed an operation."""


class ModelNotFoundError(RegistryError, LookupError):
    """No registered model matches the requested name (and alias or version)."""

    def __init__(self, name: str, *, ref: str | None = None, known: Iterable[str] = ()) -> None:
        self.name, self.ref, self.known = name, ref, sorted(known)
        target = f"{name!r}" + (f" @ {ref}" if ref else "")
        hint = difflib.get_close_matches(name, self.known, n=1)
        fix = (
            f"Did you mean {hint[0]!r}?"
            if hint
            else "Register one with `modelyard train`."
            if not self.known
            else f"Registered models: {', '.join(self.known[:10])}."
        )
        super().__init__(f"No registered model {target}. {fix}")

    def __str__(self) -> str:
        return str(self.args[0])


class ArtifactIntegrityError(RegistryError):
    """Artifact files do not match their SHA-256 manifest; nothing was parsed."""


class UnsafeArtifactError(RegistryError):
    """An artifact is in a format that can execute code when loaded (pickle and kin)."""


class PipelineError(ModelyardError):
    """A pipeline step failed; the message names the step."""


class ServingError(ModelyardError, ValueError):
    """The model server cannot start as asked: a bad model reference, bind or key setting."""


class MonitoringError(ModelyardError, ValueError):
    """A look at drift and quality cannot be taken: no rows in the window, no reference, or
    data without the model's columns."""


class WebhookRefusedError(MonitoringError):
    """An alert webhook points at a host modelyard will not call (loopback, private or
    link-local, not allowlisted), or at a URL it cannot use."""


class EgressError(ModelyardError):
    """An outbound HTTP(S) request (``modelyard.net``) was refused or got no usable answer."""


class EgressRefusedError(EgressError, ValueError):
    """A URL points at an address modelyard will not call (loopback, private, link-local or
    metadata, not allowlisted), or cannot be used (scheme, credentials, malformed)."""


class EgressFailedError(EgressError, ConnectionError):
    """An allowed request got no usable answer: no DNS answer, a refused connection, a TLS
    failure, the time bound, or too many redirects.

    Attributes:
        origin: ``scheme://host[:port]`` of the URL asked for.
        status: The last HTTP status received (a redirect), or ``None``.
        detail: What happened, without the URL's path or query.
        redirects: The origins of the redirects followed, in order.
    """

    def __init__(
        self, origin: str, detail: str, *, status: int | None = None, redirects: Sequence[str] = ()
    ) -> None:
        self.origin, self.detail, self.status = origin, detail, status
        self.redirects = tuple(redirects)
        super().__init__(f"{origin}: {detail}")

    def __str__(self) -> str:  # ConnectionError would otherwise format errno-style
        return str(self.args[0])


class ExampleError(ModelyardError, ValueError):
    """An example cannot be written where it was asked for."""

    def __init__(self, message: str, *, known: Iterable[str] = (), value: str = "") -> None:
        hint = did_you_mean(value, known) if value else ""
        super().__init__(message + hint)


def describe(value: Any, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
