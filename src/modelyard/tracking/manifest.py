"""SHA-256 manifests of artifact folders: written when an artifact is logged, verified before any
of its bytes reach a parser.

A manifest (``MANIFEST.sha256.json``) lists every regular file under the folder by relative POSIX
path, with its size and SHA-256. Verification fails on the first file that is missing, changed,
not listed, a symbolic link, not a regular file, or named by a path that leaves the folder.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from modelyard.errors import ArtifactIntegrityError

MANIFEST_NAME = "MANIFEST.sha256.json"
MANIFEST_FORMAT = "modelyard-manifest/1"
_MAX_MANIFEST_BYTES = 16 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

PathLike = str | os.PathLike[str]


def write_manifest(folder: PathLike) -> Path:
    """Hash every file under ``folder`` and write its manifest there.

    Returns:
        The path of the manifest file.

    Raises:
        ArtifactIntegrityError: The folder holds a symbolic link, a special file, or a file name
            a manifest cannot carry.
    """
    root = artifact_root(folder)
    files = []
    for relative in _walk(root):
        digest, size = _hash_file(root, relative)
        files.append({"path": relative, "size": size, "sha256": digest})
    body = {"format": MANIFEST_FORMAT, "algorithm": "sha256", "files": files}
    target = root / MANIFEST_NAME
    temporary = root / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, target)
    return target


def verify_manifest(folder: PathLike) -> dict[str, str]:
    """Check every file under ``folder`` against its manifest.

    Returns:
        The SHA-256 of each listed file, by relative path.

    Raises:
        ArtifactIntegrityError: Naming the first file that is missing, changed, not listed, a
            symbolic link or outside the folder; or the manifest itself is missing or malformed.
    """
    root = artifact_root(folder)
    listed = _read_manifest(root)
    for relative in _walk(root):
        if relative not in listed:
            _fail(root, relative, "is not in the manifest (an extra file)")
    for relative, (size, expected) in sorted(listed.items()):
        digest, actual_size = _hash_file(root, relative)
        if actual_size != size:
            _fail(root, relative, f"has {actual_size} bytes where the manifest says {size}")
        if digest != expected:
            _fail(root, relative, "does not match its SHA-256 in the manifest")
    return {relative: digest for relative, (_, digest) in sorted(listed.items())}


def read_verified(folder: PathLike, relative: str, digests: dict[str, str]) -> bytes:
    """Read one file of a verified folder, checking its bytes against ``digests`` again.

    Hashing the very bytes that are returned closes the window between verifying a folder and
    reading a file from it.
    """
    root = artifact_root(folder)
    if relative not in digests:
        _fail(root, relative, "is not in the manifest")
    data = _read_file(root, relative)
    if hashlib.sha256(data).hexdigest() != digests[relative]:
        _fail(root, relative, "changed after it was verified")
    return data


def read_head(folder: PathLike, relative: str, size: int) -> bytes:
    """Read the first ``size`` bytes of a file inside ``folder`` (no links, no escaping)."""
    root = artifact_root(folder)
    with _open(root, relative) as handle:
        data: bytes = handle.read(size)
    return data


def resolve_inside(root: Path, relative: str) -> Path:
    """Join ``relative`` to ``root`` and refuse the result unless it stays inside, link-free."""
    _check_relative(root, relative)
    candidate = root.joinpath(*PurePosixPath(relative).parts)
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(root):
        _fail(root, relative, "resolves outside the artifact folder")
    if real != candidate:
        _fail(root, relative, "passes through a symbolic link")
    return candidate


def artifact_root(folder: PathLike) -> Path:
    """Return the real path of an artifact folder, refusing a link or a missing folder."""
    path = Path(folder)
    if path.is_symlink():
        raise ArtifactIntegrityError(
            f"Artifact folder {str(path)!r} is a symbolic link; pass the real folder."
        )
    real = Path(os.path.realpath(path))
    if not real.is_dir():
        raise ArtifactIntegrityError(f"No artifact folder at {str(path)!r}.")
    return real


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    pending = [""]
    while pending:
        prefix = pending.pop()
        with os.scandir(root / prefix if prefix else root) as entries:
            for entry in entries:
                relative = f"{prefix}/{entry.name}" if prefix else entry.name
                if entry.is_symlink():
                    _fail(root, relative, "is a symbolic link; artifacts hold regular files only")
                if entry.is_dir(follow_symlinks=False):
                    pending.append(relative)
                elif not entry.is_file(follow_symlinks=False):
                    _fail(root, relative, "is not a regular file")
                elif relative != MANIFEST_NAME:
                    _check_relative(root, relative)
                    found.append(relative)
    return sorted(found)


def _read_manifest(root: Path) -> dict[str, tuple[int, str]]:
    if not os.path.lexists(root / MANIFEST_NAME):
        raise ArtifactIntegrityError(
            f"Artifact {str(root)!r} has no {MANIFEST_NAME}, so its files cannot be verified. "
            "Nothing was loaded; re-log the artifact so that modelyard writes its manifest."
        )
    raw = _read_file(root, MANIFEST_NAME, limit=_MAX_MANIFEST_BYTES)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(root, MANIFEST_NAME, f"is not valid JSON ({exc})")
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        _fail(root, MANIFEST_NAME, f"is not a {MANIFEST_FORMAT} manifest")
    files = data.get("files")
    if not isinstance(files, list):
        _fail(root, MANIFEST_NAME, "has no 'files' list")
    listed: dict[str, tuple[int, str]] = {}
    for entry in files:
        relative, size, digest = _parse_entry(root, entry)
        if relative in listed or relative == MANIFEST_NAME:
            _fail(root, relative, "is listed twice, or lists the manifest itself")
        listed[relative] = (size, digest)
    return listed


def _parse_entry(root: Path, entry: Any) -> tuple[str, int, str]:
    if not isinstance(entry, dict):
        _fail(root, MANIFEST_NAME, f"has a malformed entry {entry!r}")
    relative, size, digest = entry.get("path"), entry.get("size"), entry.get("sha256")
    if not isinstance(relative, str):
        _fail(root, MANIFEST_NAME, f"has an entry without a path: {entry!r}")
    _check_relative(root, relative)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        _fail(root, relative, f"has an invalid size {size!r} in the manifest")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        _fail(root, relative, f"has an invalid SHA-256 {digest!r} in the manifest")
    return relative, size, digest


def _check_relative(root: Path, relative: str) -> None:
    parts = relative.split("/")
    if (
        not relative
        or relative.startswith("/")
        or "\\" in relative
        or any(ord(char) < 32 for char in relative)
        or any(part in ("", ".", "..") for part in parts)
    ):
        _fail(root, relative, "is not a plain relative path inside the folder")


def _hash_file(root: Path, relative: str) -> tuple[str, int]:
    with _open(root, relative) as handle:
        digest = hashlib.file_digest(handle, "sha256")
        return digest.hexdigest(), handle.tell()


def _read_file(root: Path, relative: str, *, limit: int | None = None) -> bytes:
    with _open(root, relative) as handle:
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        _fail(root, relative, f"is larger than {limit} bytes")
    return data


def _open(root: Path, relative: str) -> io.BufferedReader:
    path = resolve_inside(root, relative)
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        _fail(root, relative, "is missing")
    except OSError as exc:
        problem = "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot be read: {exc}"
        _fail(root, relative, problem)
    handle = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        _fail(root, relative, "is not a regular file")
    return handle


def _fail(root: Path, relative: str, problem: str) -> NoReturn:
    raise ArtifactIntegrityError(
        f"Artifact {str(root)!r} fails its manifest: {relative!r} {problem}. Nothing was "
        "loaded; re-download or re-log the artifact, and do not use it until it verifies."
    )
