"""Whether a file can be written where it is meant to go, before anything is computed: the one check the
writers (:func:`nwpflow.io.writer.check_output_location`) and the workflow's config check
(``output_dir``, ``numba_cache_dir``) share. Standard library only, so that Snakemake's parse can use it."""

from __future__ import annotations

import os
from pathlib import Path


def folder_problem(folder: str | os.PathLike) -> str | None:
    """What keeps files from being written into ``folder`` (created where missing), or ``None``: a part of
    it is a file, or the nearest existing folder is on a read-only file system or not writable. Each
    description ends in what to do."""
    existing = Path(folder)
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{str(existing)!r} is a file, not a folder: remove it or choose another output folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        if os.statvfs(existing).f_flag & os.ST_RDONLY:
            return f"{str(existing)!r} is on a read-only file system: choose an output folder on a writable one"
        return (f"{str(existing)!r} is not writable (permission denied): choose a folder you may write to, or "
                "change its permissions")
    return None


def output_problem(path: str | os.PathLike) -> str | None:
    """What keeps file ``path`` from being written, or ``None`` (:func:`folder_problem`, and ``path`` being a
    folder)."""
    path = Path(path)
    if path.is_dir():
        return "is a folder: give a file name, or remove the folder"
    return folder_problem(path.parent)


__all__ = ["folder_problem", "output_problem"]
