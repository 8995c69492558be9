"""All-or-nothing writes of files and result directories.

A planning run that is interrupted (an exception, Ctrl-C, a full disk) must
never leave behind a file or a directory that looks like a complete result.
Everything phototherm writes therefore goes to a hidden temporary sibling first
(same directory, hence same file system) and is renamed onto its final name
only once it is complete. A rename within one file system is atomic on POSIX
and on Windows (``os.replace``), so a reader sees either the old content or the
new, never a mixture.

Temporary names are ``.{name}.tmp-<random>`` for files,
``.{name}.partial-<random>`` for staged directories and ``.{name}.old-<random>``
for the previous result while it is being swapped out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import Problems

__all__ = ["atomic_file", "atomic_write_bytes", "atomic_write_text", "staged_directory", "check_destination"]


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary file that appears at ``path`` only once it is complete.

    The caller writes into a temporary file in the same directory. On normal
    exit it is flushed, fsynced and renamed onto ``path`` (replacing any
    existing file). On any exception, ``KeyboardInterrupt`` included, the
    temporary file is removed, ``path`` is left as it was and the exception
    propagates.

    Parameters
    ----------
    path : str or os.PathLike
        Final file name. Missing parent directories are created.

    Yields
    ------
    file object
        Binary file opened for writing. Permissions follow the process umask,
        as for a plain ``open(path, "wb")``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = _sibling(path, "tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, UTF-8 encoded, newlines untranslated.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_directory(final_path: str | os.PathLike, *, overwrite: bool = True, key: str = "folder") -> Iterator[Path]:
    """Build a result directory out of sight and move it into place when complete.

    Parameters
    ----------
    final_path : str or os.PathLike
        Where the finished directory should end up. Missing parents are created.
    overwrite : bool, optional
        Whether an existing directory at ``final_path`` may be replaced.
    key : str, optional
        Name of the parameter that gave ``final_path``, for error messages
        (e.g. ``"--out"`` from the command line).

    Yields
    ------
    pathlib.Path
        A fresh, empty sibling directory ``.{name}.partial-<random>`` to write
        everything into.

    Raises
    ------
    InputError
        ``final_path`` exists and is not a directory, or exists and
        ``overwrite`` is false. Checked before yielding (so no work is wasted)
        and again before the swap.

    Notes
    -----
    On normal exit an existing ``final_path`` is renamed aside to
    ``.{name}.old-<random>``, the staged directory is renamed to
    ``final_path`` and the old one is deleted. Between the two renames
    ``final_path`` is briefly absent; if the second rename fails the old
    directory is renamed back. Should deleting the old directory fail, it is
    left behind under its hidden name: the new result is complete either way.

    On an exception, ``KeyboardInterrupt`` included, the staged directory is
    deleted, any previous ``final_path`` is left untouched and the exception
    propagates.

    Examples
    --------
    >>> with staged_directory("results/run-01") as out:  # doctest: +SKIP
    ...     write_vti(out / "temperature.vti", grid, fields)
    """
    final = Path(final_path)
    check_destination(final, overwrite=overwrite, key=key)
    final.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staged = _sibling(final, "partial")
        try:
            staged.mkdir()
            break
        except FileExistsError:
            continue
    try:
        yield staged
        check_destination(final, overwrite=overwrite, key=key)
        _swap_into_place(staged, final)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def check_destination(path: str | os.PathLike, *, overwrite: bool = True, key: str = "folder") -> None:
    """Refuse a results destination that :func:`staged_directory` could not fill.

    Call it before long work, so a bad destination fails at once.

    Raises
    ------
    InputError
        ``path`` exists and is not a directory, or exists and ``overwrite``
        is false; the problem is reported under ``key``.
    """
    final = Path(path)
    problems = Problems()
    if final.exists() or final.is_symlink():
        where = str(final)
        problems.check(final.is_dir(), key, where, "a directory (to be replaced) or a new path, not a file")
        problems.check(overwrite, key, where, "a new path (overwrite=False)")
    problems.raise_if_any("cannot write the results folder")


def _swap_into_place(staged: Path, final: Path) -> None:
    if not final.exists():
        os.rename(staged, final)
        _fsync_directory(final.parent)
        return
    backup = _sibling(final, "old")
    os.rename(final, backup)
    try:
        os.rename(staged, final)
    except BaseException:
        os.rename(backup, final)
        raise
    _fsync_directory(final.parent)
    shutil.rmtree(backup, ignore_errors=True)


def _sibling(path: Path, tag: str) -> Path:
    """A hidden, randomly named sibling of ``path``."""
    return path.with_name(f".{path.name}.{tag}-{secrets.token_hex(6)}")


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
