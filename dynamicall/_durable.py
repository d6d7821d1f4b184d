"""Durable, atomic writes: the one home for every file and folder the library writes.

Guarantees
----------
* A file written with :func:`atomic_file` (or the helpers built on it) is either the old
  version or the complete new one, never torn: the data go to a temporary name in the same
  folder, are flushed to disk (``fsync``), then renamed over the final name (atomic on
  POSIX); with ``sync_folder`` the rename itself is flushed too (survives a power loss).
  On an exception the temporary file is removed and the old file is untouched.
* A *set* of files (a fit's outputs, an emulator's weights + card + report) is written
  with :func:`staged_folder`: every file goes into a hidden staging folder beside the
  destination, which is renamed into place only when all are written. A finished folder
  is never replaced unless the caller passes ``overwrite=True``; then the old folder is
  moved aside, the new one renamed in, and only then the old one deleted, so an interrupt
  at any point leaves one complete set (old or new), never a mixture.

Example
-------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_text(d / "a.txt", "hello")
>>> (d / "a.txt").read_text()
'hello'
>>> with staged_folder(d / "run") as tmp:
...     write_text(tmp / "summary.json", "{}")
>>> sorted(p.name for p in (d / "run").iterdir())
['summary.json']
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile


class OutputExistsError(FileExistsError):
    """A finished result is in the way and the caller did not ask to overwrite it."""


def fsync_path(path) -> None:
    """Flush a file (or folder) to disk; folders that cannot be synced are ignored."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder
        pass
    finally:
        os.close(fd)


def replace_durably(tmp, final, sync_folder: bool = True) -> None:
    """Flush ``tmp`` to disk and rename it to ``final`` (atomic on POSIX)."""
    tmp, final = pathlib.Path(tmp), pathlib.Path(final)
    fsync_path(tmp)
    os.replace(tmp, final)
    if sync_folder:
        fsync_path(final.parent)


@contextlib.contextmanager
def atomic_file(path, sync_folder: bool = True, mode: int = 0o644):
    """Context manager yielding a temporary path to write in place of ``path``.

    On normal exit the temporary file is flushed and renamed to ``path``; on an exception
    it is deleted and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        Final file name; its folder is created if missing.
    sync_folder : bool
        Also flush the folder after the rename (durable across power loss).
    mode : int
        Permission bits of the final file (temporary files are private by default).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = pathlib.Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, mode)
        replace_durably(tmp, path, sync_folder)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str, sync_folder: bool = True) -> None:
    """Write ``text`` to ``path`` atomically and durably."""
    with atomic_file(path, sync_folder) as tmp:
        tmp.write_text(text)


def write_json(path, obj, sync_folder: bool = True, **kwargs) -> None:
    """Write ``obj`` as JSON (indent 2 unless given) to ``path`` atomically and durably."""
    kwargs.setdefault("indent", 2)
    write_text(path, json.dumps(obj, **kwargs) + "\n", sync_folder)


def save_npz(path, arrays: dict, sync_folder: bool = True) -> None:
    """``numpy.savez`` of ``arrays`` to ``path`` atomically and durably."""
    import numpy as np

    with atomic_file(path, sync_folder) as tmp:
        with open(tmp, "wb") as f:  # a file object: savez must not append ".npz"
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def is_nonempty_folder(path) -> bool:
    path = pathlib.Path(path)
    return path.is_dir() and any(path.iterdir())


@contextlib.contextmanager
def staged_folder(path, overwrite: bool = False, keep=()):
    """Context manager yielding a staging folder that replaces ``path`` as a whole.

    Write every file of the set into the yielded folder; on normal exit it is renamed to
    ``path``. On an exception the staging folder is deleted and ``path`` is untouched.

    Parameters
    ----------
    path : str or Path
        The destination folder.
    overwrite : bool
        Replace an existing, non-empty ``path``. Without it such a folder raises
        :class:`OutputExistsError` before anything is written.
    keep : sequence of str
        Names of files in the existing folder to carry over into the new one (e.g. a
        checkpoint the caller has not asked to delete); copied before the swap.
    """
    path = pathlib.Path(path)
    if is_nonempty_folder(path) and not overwrite:
        raise OutputExistsError(f"{path} already holds a result; choose another folder or pass overwrite")
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path} exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.staging."))
    try:
        yield staging
        for name in keep:
            old = path / name
            if old.exists() and not (staging / name).exists():
                shutil.copy2(old, staging / name)
        for f in staging.iterdir():
            fsync_path(f)
        os.chmod(staging, 0o755)
        if path.exists():
            aside = pathlib.Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            aside.rmdir()
            os.replace(path, aside)
            os.replace(staging, path)
            fsync_path(path.parent)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(staging, path)
            fsync_path(path.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
