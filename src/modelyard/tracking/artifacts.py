"""The one place a model is loaded from disk.

Loading is deny-by-default. A folder is checked against its SHA-256 manifest before any byte
reaches a parser; pickle-family files (pickle, joblib, cloudpickle, torch checkpoints, a pickle
renamed ``.bin``) refuse the whole folder; the model itself is read with skops, trusting only the
types listed here. The trusted list is held by modelyard and never read from the artifact.

Extending the trusted list: modelyard's own transformers live under ``modelyard.features.``. A
type there is trusted when its name is in ``MODELYARD_TYPES``, or when it starts with one of
``MODELYARD_TYPE_PREFIXES`` *and* resolves to a scikit-learn estimator class or a function that
is defined (not merely imported) in that module. Anything else an artifact names is refused.
"""

from __future__ import annotations

import importlib
import inspect
import io
import pickletools
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

from modelyard.errors import RegistryError, UnsafeArtifactError
from modelyard.tracking.manifest import (
    MANIFEST_NAME,
    PathLike,
    artifact_root,
    read_head,
    read_verified,
    verify_manifest,
)

MODEL_FILE = "model.skops"
ONNX_FILE = "model.onnx"

#: Types beyond skops's defaults that modelyard pipelines contain (scikit-learn pipelines with
#: ColumnTransformer, imputers, scalers, encoders, tree ensembles, linear models, calibration and
#: spline features; LightGBM). Found with ``skops.io.get_untrusted_types`` on such pipelines.
_LIBRARY_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "functools.partial",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRanker",
    "lightgbm.sklearn.LGBMRegressor",
    "numpy.dtype",
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "scipy.interpolate._bsplines.BSpline",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
)

#: Exact names of modelyard's own transformers (filled in by ``modelyard.features``).
MODELYARD_TYPES: tuple[str, ...] = ()

#: Namespaces whose estimator classes and functions are trusted after the checks above.
MODELYARD_TYPE_PREFIXES: tuple[str, ...] = ("modelyard.features.",)

TRUSTED_TYPES: tuple[str, ...] = _LIBRARY_TYPES + MODELYARD_TYPES

_PICKLE_SUFFIXES = frozenset(
    {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".cloudpickle", ".dill", ".sav"}
)
_IMPORT_NAME = re.compile(r"[A-Za-z_][\w.]* [A-Za-z_][\w.]*")
_CALL_OPCODES = frozenset({"REDUCE", "OBJ", "NEWOBJ", "NEWOBJ_EX", "BUILD", "INST"})
_SNIFF_BYTES = 4096


def save_model(pipeline: object, folder: PathLike) -> Path:
    """Write ``pipeline`` to ``folder/model.skops``.

    The manifest is written later, when the folder is logged, so that other files (model card,
    ONNX export) are covered too; a manifest already in ``folder`` is removed as stale.

    Returns:
        The path of the model file.

    Raises:
        UnsafeArtifactError: The pipeline holds a type ``load_model`` would refuse; saving it
            would produce a model nobody can load.
    """
    import skops.io as sio

    data = sio.dumps(pipeline)
    refused = _refused_types(sio.get_untrusted_types(data=data))
    if refused:
        raise UnsafeArtifactError(
            f"Refusing to save a model that load_model would refuse: it holds the untrusted "
            f"types {refused}. Use scikit-learn or LightGBM components, or add a modelyard "
            "transformer to modelyard.tracking.artifacts.MODELYARD_TYPES."
        )
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    target = root / MODEL_FILE
    temporary = root / f".{MODEL_FILE}.tmp"
    temporary.write_bytes(data)
    temporary.replace(target)
    (root / MANIFEST_NAME).unlink(missing_ok=True)  # it described the folder before this save
    return target


def load_model(folder: PathLike) -> Any:
    """Load the model in ``folder`` after verifying its manifest and every type it names.

    Raises:
        ArtifactIntegrityError: A file is missing, changed, extra or a link (nothing was parsed).
        UnsafeArtifactError: The folder holds a pickle-family file, or the model names a type
            outside the trusted list.
        RegistryError: The folder has no ``model.skops``.
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    root, digests = _verified(folder)
    if MODEL_FILE not in digests:
        raise RegistryError(
            f"No {MODEL_FILE} in artifact {str(root)!r}; modelyard loads skops models only "
            "(save them with modelyard.tracking.artifacts.save_model)."
        )
    data = read_verified(root, MODEL_FILE, digests)
    if not data.startswith(b"PK\x03\x04"):
        raise UnsafeArtifactError(
            f"{MODEL_FILE} in {str(root)!r} is not a skops archive; it was refused unread."
        )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a malformed archive can fail in many ways inside skops
        raise UnsafeArtifactError(
            f"{MODEL_FILE} in {str(root)!r} is not a readable skops archive ({exc}); refused."
        ) from exc
    refused = _refused_types(untrusted)
    if refused:
        raise _untrusted_error(root, refused)
    trusted = sorted({*TRUSTED_TYPES, *untrusted})
    try:
        return sio.loads(data, trusted=trusted)
    except UntrustedTypesFoundException as exc:
        raise _untrusted_error(root, [str(exc)]) from exc


def load_onnx_bytes(folder: PathLike) -> bytes | None:
    """Return the verified bytes of ``folder/model.onnx``, or None when there is none.

    Raises:
        ArtifactIntegrityError: The folder fails its manifest.
        UnsafeArtifactError: The folder holds a pickle-family file.
    """
    root, digests = _verified(folder)
    if ONNX_FILE not in digests:
        return None
    return read_verified(root, ONNX_FILE, digests)


def is_trusted_type(name: str) -> bool:
    """Tell whether ``load_model`` trusts the type (or function) ``name``."""
    if name in TRUSTED_TYPES or name in MODELYARD_TYPES:
        return True
    if not name.startswith(MODELYARD_TYPE_PREFIXES):
        return False
    module_name, _, attribute = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    found = getattr(module, attribute, None)
    if getattr(found, "__module__", None) != module_name:
        return False
    if inspect.isfunction(found):
        return True
    from sklearn.base import BaseEstimator

    return isinstance(found, type) and issubclass(found, BaseEstimator)


def _verified(folder: PathLike) -> tuple[Path, dict[str, str]]:
    root = artifact_root(folder)
    digests = verify_manifest(root)
    for relative in digests:
        if _is_pickle_family(root, relative, digests):
            raise UnsafeArtifactError(
                f"Artifact {str(root)!r} holds {relative!r}, a pickle-family file that can run "
                "code when loaded; the artifact was refused and nothing was unpickled. Save "
                "models with modelyard (skops or ONNX)."
            )
    return root, digests


def _is_pickle_family(root: Path, relative: str, digests: dict[str, str]) -> bool:
    if Path(relative).suffix.lower() in _PICKLE_SUFFIXES:
        return True
    head = read_head(root, relative, _SNIFF_BYTES)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, _SNIFF_BYTES)
        except zlib.error:
            return False
    if head.startswith(b"PK\x03\x04") and relative != MODEL_FILE:
        return _zip_holds_pickle(root, relative, digests)
    return _looks_like_pickle(head)


def _zip_holds_pickle(root: Path, relative: str, digests: dict[str, str]) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(read_verified(root, relative, digests))) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(Path(name).suffix.lower() in _PICKLE_SUFFIXES for name in names)


def _looks_like_pickle(head: bytes) -> bool:
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    imports = False
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(head)):
            if opcode.name in ("GLOBAL", "INST"):
                imports = imports or bool(_IMPORT_NAME.fullmatch(str(argument)))
            if imports and opcode.name in _CALL_OPCODES:
                return True
            if opcode.name == "STOP":
                break
    except Exception:  # not a pickle stream, or one cut off at the sniffed prefix
        return False
    return False


def _refused_types(names: list[str]) -> list[str]:
    return sorted(name for name in names if not is_trusted_type(name))


def _untrusted_error(root: Path, refused: list[str]) -> UnsafeArtifactError:
    return UnsafeArtifactError(
        f"Model in {str(root)!r} was refused: it names types outside modelyard's trusted list: "
        f"{', '.join(refused)}. Nothing was constructed. If a type is a modelyard transformer, "
        "add it to modelyard.tracking.artifacts.MODELYARD_TYPES; never trust a list that comes "
        "with the artifact."
    )
