"""numba's on-disk cache made safe for many jobs at once, and counted.

Every Snakemake job is a fresh process that loads the compiled kernels from one shared folder
(``NUMBA_CACHE_DIR``). numba writes each cache file atomically (a temporary name, then
``os.replace``: ``numba/core/caching.py::IndexDataCacheFile._open_for_write``), so a reader never sees
a half-written file. But saving a new entry is a read-modify-write of the function's index
(``IndexDataCacheFile.save``: load the index, pick the first free data-file number, write the index,
then the data file), and two processes that compile *different* signatures of one function at the same
time can both pick data file ``.1.nbc``: one index entry is lost, or, interleaved, the index maps one
signature to the other's machine code. This module serialises those saves with a POSIX lock on the
cache folder (``fcntl.lockf``, which NFS supports), re-reads the index under the lock, and writes the
data file before the index entry that points at it. Loads take no lock.

It also counts loads and saves, so that a job can log how many kernels it compiled
(:func:`report`): after the workflow's ``warm_cache`` job, none should.

:func:`install` patches ``numba.core.caching.IndexDataCacheFile`` once per process; it is called when
``nwpflow.kernels._jit`` (the decorators every kernel module uses) is imported, before any kernel is defined.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import Counter

log = logging.getLogger("nwpflow")

LOCK_NAME = ".nwpflow-cache.lock"
"""Name of the lock file in each cache folder."""

counts: Counter = Counter()
"""``loaded``, ``missed`` and ``saved`` cache entries of this process."""

_installed = False
_thread_lock = threading.Lock()


@contextlib.contextmanager
def _folder_lock(folder: str):
    """Hold an exclusive lock on ``folder`` against other processes (and threads of this one)."""
    with _thread_lock:
        handle = None
        try:
            os.makedirs(folder, exist_ok=True)
            handle = open(os.path.join(folder, LOCK_NAME), "a")
            import fcntl

            fcntl.lockf(handle, fcntl.LOCK_EX)
        except (OSError, ImportError) as error:  # no locking on this file system: save as numba does
            log.warning("numba cache %s: cannot lock (%s); saving without a lock", folder, error)
        try:
            yield
        finally:
            if handle is not None:
                handle.close()  # closing releases the lock


def install() -> bool:
    """Patch numba's cache-file class once: locked saves (data before index) and counting.

    Returns whether the patch is in place (False if numba's internals are not what this expects: numba
    then behaves as it always does).
    """
    global _installed
    if _installed:
        return True
    try:
        from numba.core.caching import IndexDataCacheFile
    except ImportError:
        return False
    if not all(hasattr(IndexDataCacheFile, name)
               for name in ("save", "load", "_load_index", "_save_index", "_save_data", "_data_name")):
        return False
    original_load = IndexDataCacheFile.load

    def save(self, key, data):
        with _folder_lock(self._cache_path):
            overloads = self._load_index()  # re-read under the lock: another process may have added entries
            data_name = overloads.get(key)
            if data_name is None:
                existing = set(overloads.values())
                number = 1
                while self._data_name(number) in existing:
                    number += 1
                data_name = self._data_name(number)
            # Data first: an index entry never points at a data file that is not (yet) this entry's.
            self._save_data(data_name, data)
            overloads[key] = data_name
            self._save_index(overloads)
        counts["saved"] += 1

    def load(self, key):
        result = original_load(self, key)
        counts["loaded" if result is not None else "missed"] += 1
        return result

    IndexDataCacheFile.save = save
    IndexDataCacheFile.load = load
    _installed = True
    return True


def report() -> str:
    """Return a one-line account of this process's cache use, e.g. ``"5 loaded, 0 compiled"``."""
    return f"{counts['loaded']} loaded from the cache, {counts['saved']} compiled and saved"
