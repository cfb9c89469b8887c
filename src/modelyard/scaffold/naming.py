"""Names a new project gets from its folder: the project (and model) name, and its package."""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# importable names a project package must not shadow (pytest puts src/ first on sys.path)
_TAKEN = frozenset(
    {"modelyard", "src", "test", "tests", "docs", "data", "deploy", "notebooks", "configs"}
    | {"pandas", "numpy", "sklearn", "lightgbm", "mlflow", "pytest", "pyarrow", "yaml"}
)


@dataclass(frozen=True, slots=True)
class ProjectNames:
    """What a project is called where.

    Attributes:
        name: The project and registered-model name: lower case, words joined by ``-``
            (valid in ``modelyard.yaml``, as a Docker image and as a Kubernetes name).
        package: The Python package under ``src/``: lower case, non-alphanumerics as ``_``.
    """

    name: str
    package: str


def project_names(dest: Path) -> ProjectNames:
    """Derive the names of the project written to ``dest`` from the folder's name.

    ``My Churn.v2`` becomes the project ``my-churn-v2`` with the package ``my_churn_v2``; a
    package that would start with a digit, be a keyword, or shadow a module modelyard or
    the standard library needs gets a suffix (``2024_churn`` -> ``p2024_churn``).
    """
    folder = dest.expanduser().resolve().name
    words = re.findall(r"[a-z0-9]+", folder.lower())
    if not words:
        words = ["project"]
    name = "-".join(words)[:63].strip("-") or "project"
    package = "_".join(words)
    if package[0].isdigit():
        package = "p" + package
    if keyword.iskeyword(package) or package in _TAKEN or package in sys.stdlib_module_names:
        package += "_project"
    return ProjectNames(name=name, package=package)
