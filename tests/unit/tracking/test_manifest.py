"""SHA-256 manifests: every kind of tampering is caught, naming the file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard.errors import ArtifactIntegrityError
from modelyard.tracking.manifest import MANIFEST_NAME, verify_manifest, write_manifest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "card").mkdir(parents=True)
    (root / "model.skops").write_bytes(bytes(range(256)) * 4)
    (root / "card" / "card.md").write_text("# Model card\n")
    write_manifest(root)
    return root


def test_write_lists_every_file_but_itself(folder: Path) -> None:
    manifest = json.loads((folder / MANIFEST_NAME).read_text())

    assert [entry["path"] for entry in manifest["files"]] == ["card/card.md", "model.skops"]
    assert manifest["files"][1]["size"] == 1024
    assert verify_manifest(folder).keys() == {"card/card.md", "model.skops"}


def _flip_byte(root: Path) -> None:
    path = root / "model.skops"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(root: Path) -> None:
    path = root / "model.skops"
    path.write_bytes(path.read_bytes()[:-1])


def _append(root: Path) -> None:
    with (root / "card" / "card.md").open("a") as handle:
        handle.write("extra")


def _add_file(root: Path) -> None:
    (root / "evil.py").write_text("print('hi')")


def _remove_file(root: Path) -> None:
    (root / "card" / "card.md").unlink()


def _swap_in_symlink(root: Path) -> None:
    target = root.parent / "outside.skops"
    (root / "model.skops").rename(target)
    (root / "model.skops").symlink_to(target)


def _symlinked_folder(root: Path) -> None:
    outside = root.parent / "outside-card"
    (root / "card").rename(outside)
    (root / "card").symlink_to(outside, target_is_directory=True)


def _manifest_escapes(root: Path) -> None:
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest["files"][0]["path"] = "../outside.txt"
    (root.parent / "outside.txt").write_text("x")
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))


def _manifest_absolute(root: Path) -> None:
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    manifest["files"][0]["path"] = "/etc/passwd"
    (root / MANIFEST_NAME).write_text(json.dumps(manifest))


def _fifo(root: Path) -> None:
    os.mkfifo(root / "pipe")


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        pytest.param(_flip_byte, r"'model.skops' does not match its SHA-256", id="flip-byte"),
        pytest.param(_truncate, r"'model.skops' has 1023 bytes", id="truncate"),
        pytest.param(_append, r"'card/card.md' has 18 bytes", id="append"),
        pytest.param(_add_file, r"'evil.py' is not in the manifest", id="extra-file"),
        pytest.param(_remove_file, r"'card/card.md' is missing", id="missing-file"),
        pytest.param(_swap_in_symlink, r"'model.skops' is a symbolic link", id="file-symlink"),
        pytest.param(_symlinked_folder, r"'card' is a symbolic link", id="folder-symlink"),
        pytest.param(_manifest_escapes, r"'\.\./outside.txt' is not a plain relative", id="dotdot"),
        pytest.param(_manifest_absolute, r"'/etc/passwd' is not a plain relative", id="absolute"),
        pytest.param(_fifo, r"'pipe' is not a regular file", id="fifo"),
    ],
)
def test_tampering_is_detected(folder: Path, tamper: Callable[[Path], None], match: str) -> None:
    tamper(folder)

    with pytest.raises(ArtifactIntegrityError, match=match):
        verify_manifest(folder)


def test_missing_manifest_says_how_to_fix(tmp_path: Path) -> None:
    (tmp_path / "model.skops").write_bytes(b"x")

    with pytest.raises(ArtifactIntegrityError, match=r"has no MANIFEST.sha256.json.*re-log"):
        verify_manifest(tmp_path)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        pytest.param("not json", r"MANIFEST\.sha256\.json' is not valid JSON", id="not-json"),
        pytest.param(
            '{"format": "other/1", "files": []}',
            r"is not a modelyard-manifest/1 manifest",
            id="wrong-format",
        ),
        pytest.param(
            '{"format": "modelyard-manifest/1", "files": [{"path": "a", "size": 1, '
            '"sha256": "zz"}]}',
            r"'a' has an invalid SHA-256 'zz'",
            id="bad-digest",
        ),
    ],
)
def test_malformed_manifest_is_refused(tmp_path: Path, body: str, match: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(body)

    with pytest.raises(ArtifactIntegrityError, match=match):
        verify_manifest(tmp_path)


def test_write_refuses_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")

    with pytest.raises(ArtifactIntegrityError, match="'link' is a symbolic link"):
        write_manifest(tmp_path)


def test_rewriting_after_a_change_verifies_again(folder: Path) -> None:
    _add_file(folder)
    write_manifest(folder)

    assert "evil.py" in verify_manifest(folder)
