"""The shared numba cache: where it is, and the stamp of its warm-up."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from nwpflow.workflow.paths import _join

def numba_cache_env(config: Mapping) -> dict[str, str]:
    """Return the environment variables that point every job at one shared numba cache.

    Parameters
    ----------
    config : Mapping
        The validated workflow config (``numba_cache_dir``).

    Returns
    -------
    dict
        ``{"NUMBA_CACHE_DIR": <absolute path>}``; absolute, so a job's working directory does not
        matter.
    """
    return {"NUMBA_CACHE_DIR": os.path.abspath(config["numba_cache_dir"])}


def package_fingerprint() -> str:
    """Return a short hash of what numba's cache entries depend on: nwpflow's source files (path, size,
    modification time: numba's own staleness test) and the numba and Python versions.

    Any change gives a new warm-up stamp (:func:`warm_stamp`), so rule ``warm_cache`` runs again.
    """
    root = Path(__file__).resolve().parents[1]  # the nwpflow package
    digest = hashlib.sha256()
    digest.update(f"numba {metadata.version('numba')} python {sys.version_info[:3]}".encode())
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def warm_stamp(config: Mapping) -> str:
    """Return the file rule ``warm_cache`` writes once it has compiled every kernel into the cache.

    It lies in the cache folder and is named after :func:`package_fingerprint`, so that a new cache
    folder, changed kernels or another numba get a new warm-up.
    """
    return _join(config["numba_cache_dir"], f"nwpflow-warm-{package_fingerprint()}.done")
