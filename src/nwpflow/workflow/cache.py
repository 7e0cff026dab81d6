"""The shared numba cache: where it is, and the stamp of its warm-up."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata

from nwpflow.identity import bytes_digest, code_identity
from nwpflow.products.identity import fanin_identity, product_identity
from nwpflow.workflow.paths import _join, fanin_formats, product_formats
from nwpflow.workflow.plan import written_products

WARM_JOB = "nwpflow.jobs.warm"
"""The module of the warm-up job (what it computes on the tiny samples is part of its identity)."""

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


def warm_fingerprint(config: Mapping) -> str:
    """Return 16 hex digits of what the warm-up compiles, by content: the code identity of every written
    product and of the fan-in statistics (:mod:`nwpflow.products.identity`), of the warm-up job itself,
    and the numba, llvmlite and Python versions. Touching a file, or a fresh clone of the same commit,
    gives the same; a change of any kernel a product uses gives another (and so a new warm-up)."""
    parts = [product_identity(p, product_formats(config)).digest for p in written_products(config)]
    parts += [fanin_identity(fanin_formats(config)).digest, code_identity([WARM_JOB]).digest]
    parts += [f"numba {metadata.version('numba')}", f"llvmlite {metadata.version('llvmlite')}",
              f"python {platform.python_version()}"]
    return bytes_digest("\n".join(parts)).split(":", 1)[1][:16]


def warm_stamp(config: Mapping) -> str:
    """Return the file rule ``warm_cache`` writes once it has compiled every kernel into the cache: in the
    cache folder, named after :func:`warm_fingerprint`."""
    return _join(config["numba_cache_dir"], f"nwpflow-warm-{warm_fingerprint(config)}.done")
