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

Two more patches make the cache follow the code's content identity (:mod:`nwpflow.identity`), as the
product files do:

* **Where a kernel's entries live** (:class:`ContentLocator`): ``NUMBA_CACHE_DIR/<module>-<identity>``,
  with ``<identity>`` the digest of the kernel module and every module it imports. numba's own locator
  keys the folder by the source file's absolute path and the entries by that one file's bytes: a fresh
  clone elsewhere finds nothing, and an edit of a helper in another module (``kernels/thermo.py``, which
  the CAPE kernel calls) would leave stale machine code. Here, the same code in any clone loads the same
  entries, and any change of a module a kernel depends on gives it a new folder.
* **Each kernel compiled once** (:func:`install`'s ``compile``): the first process that needs a kernel and
  signature the cache lacks compiles it while it holds a lock on that kernel's index file
  (``<index>.lock``); another process that needs it meanwhile waits, then loads what the first saved.
  Jobs that start together on a cold cache (locally, or on SLURM nodes sharing the cache) compile each
  kernel once between them, whatever their order, and rule ``warm_cache`` (which compiles them in
  parallel processes, first) is no input any product job waits for: the cache is only a cache.

It also counts loads and saves, so that a job can log how many kernels it compiled (:func:`report`).

:func:`install` patches numba once per process; it is called when ``nwpflow.kernels._jit`` (the
decorators every kernel module uses) is imported, before any kernel is defined.
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
"""``loaded``, ``missed`` and ``saved`` cache entries of this process, and ``waited``: kernels another
process was compiling when this one needed them."""

_installed = False
_thread_lock = threading.Lock()
_held: Counter = Counter()  # kernel lock files this process holds (compilation nests: callees compile first)


def _lock_file(path: str):
    """Open ``path`` and lock it exclusively (``fcntl.lockf``); return the open file, or ``None`` where the
    file system cannot lock (the compilation then goes on unlocked, as numba's own)."""
    import fcntl

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle = open(path, "a")
    except OSError as error:
        log.warning("numba cache: cannot open lock %s (%s); compiling without it", path, error)
        return None
    try:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            counts["waited"] += 1
            fcntl.lockf(handle, fcntl.LOCK_EX)
    except OSError as error:
        log.warning("numba cache: cannot lock %s (%s); compiling without it", path, error)
    return handle


@contextlib.contextmanager
def _kernel_lock(index_path: str):
    """Hold the lock of one kernel's cache entries against other processes. Re-entrant within this process
    (the caller holds numba's compiler lock, so the threads of a process come one at a time)."""
    lock = index_path + ".lock"
    if _held[lock]:
        _held[lock] += 1
        try:
            yield
        finally:
            _held[lock] -= 1
        return
    handle = _lock_file(lock)
    _held[lock] += 1
    try:
        yield
    finally:
        _held[lock] -= 1
        if handle is not None:
            handle.close()  # closing releases the lock


def _content_locator():
    """numba's locator class for the functions of Python source modules: :class:`ContentLocator`."""
    from numba.core import caching, config

    from nwpflow.identity import code_identity, module_file

    class ContentLocator(caching._CacheLocator):
        """Cache entries of a function in ``NUMBA_CACHE_DIR/<module>-<identity of the module and its imports>``,
        with that identity as the source stamp numba checks (see the module docstring)."""

        def __init__(self, py_func, identity):
            self._lineno = py_func.__code__.co_firstlineno
            self._stamp = identity.digest
            self._cache_path = os.path.join(config.CACHE_DIR, f"{py_func.__module__}-{identity.short}")

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return self._stamp

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            module = getattr(py_func, "__module__", None)
            if not config.CACHE_DIR or not module or module_file(module) is None:
                return None
            self = cls(py_func, _identity(module))
            try:
                self.ensure_cache_path()
            except OSError:
                return None
            return self

    import functools

    _identity = functools.lru_cache(maxsize=None)(lambda module: code_identity([module]))
    return ContentLocator


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
    from numba.core import caching, sigutils
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.dispatcher import Dispatcher

    original_load = IndexDataCacheFile.load
    original_compile = Dispatcher.compile

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

    def compile(self, sig):
        cache = getattr(self, "_cache", None)
        if not isinstance(cache, caching.Cache) or not getattr(cache, "_enabled", False):
            return original_compile(self, sig)
        args, _ = sigutils.normalize_signature(sig)
        if tuple(args) in self.overloads:
            return original_compile(self, sig)
        with global_compiler_lock, _kernel_lock(cache._cache_file._index_path):
            return original_compile(self, sig)  # loads what another process saved meanwhile, or compiles

    IndexDataCacheFile.save = save
    IndexDataCacheFile.load = load
    Dispatcher.compile = compile
    caching.CacheImpl._locator_classes.insert(0, _content_locator())
    _installed = True
    return True


def report() -> str:
    """Return a one-line account of this process's cache use, e.g. ``"5 loaded, 0 compiled"``."""
    waited = f" ({counts['waited']} after waiting for another process compiling them)" if counts["waited"] else ""
    return f"{counts['loaded']} loaded from the cache{waited}, {counts['saved']} compiled and saved"
