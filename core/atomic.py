"""Atomic writes that honour the umask: every file and folder this project writes goes through here.

A write goes to a temporary name in the destination's folder, is flushed to disk, gets the mode a
plain `open()` / `mkdir()` would give (0644 / 0755 under umask 022; `tempfile` would leave 0600 /
0700), and is renamed over the destination in one step. A crash or an error leaves the old file
(or nothing) in place, never a half-written one; the temporary is removed.

    atomic_write_bytes("out/meta.json", data)
    with atomic_open("out/tokens.bin") as fh:          # streamed writes
        fh.write(chunk)
    with atomic_path("out/model.safetensors") as tmp:  # for writers that take a path
        save_file(tensors, tmp)
    with atomic_dir("ckpt/step_00000100") as tmp:      # a folder appears complete or not at all
        ...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

TMP_PREFIX = ".tmp-"  # temporary files and folders start with this; readers ignore them


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0o666 minus the umask."""
    return 0o666 & ~_umask()


def masked(perms: int) -> int:
    """Permission bits `perms` under the umask (what cp gives a copy of a file with mode `perms`)."""
    return perms & ~_umask()


def dir_mode() -> int:
    """The mode `os.mkdir(path)` gives a new folder: 0o777 minus the umask."""
    return 0o777 & ~_umask()


def fsync_path(path: str | Path) -> None:
    """Flush a file or folder to disk; a no-op where the OS does not allow it (folders on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(path: Path, suffix: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp", perms: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it becomes `path`, with permission bits
    `perms` (default: what open() gives under the umask).

    `suffix` lets writers that insist on an extension (MindSpore's .ckpt) keep theirs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path, suffix)
    try:
        yield tmp
        os.chmod(tmp, file_mode() if perms is None else perms)
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """`open(path, mode)` through a temporary file that replaces `path` when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as fh:
        yield fh
        fh.flush()


def atomic_write_bytes(path: str | Path, data: bytes, perms: int | None = None) -> Path:
    with atomic_path(path, perms=perms) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def remove_dir(path: str | Path) -> None:
    """Delete a folder so that no half-deleted folder is ever visible under its name: rename, then delete."""
    path = Path(path)
    trash = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}delete-", dir=path.parent))
    os.replace(path, trash / "x")
    shutil.rmtree(trash, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to `path`; on success it replaces `path` (an old one is removed).

    What the block writes inside gets the umask's modes too (some writers, safetensors among them,
    create their files 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent))
    try:
        os.chmod(tmp, dir_mode())
        yield tmp
        for child in tmp.rglob("*"):
            os.chmod(child, dir_mode() if child.is_dir() else file_mode())
            fsync_path(child)
        fsync_path(tmp)
        if path.exists():
            remove_dir(path)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
