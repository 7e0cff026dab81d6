"""Incremental runs: which members and lead times have complete input files now (config ``incremental``)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from nwpflow.io.formats import file_format, grib_complete
from nwpflow.workflow.paths import _join, input_file_name, input_layout
from nwpflow.workflow.plan import is_activated

def input_complete(path: str, *, marker: str | None = None, min_age_s: float = 0, now: float | None = None) -> bool:
    """Return whether one input file is complete: it exists, is unchanged for ``min_age_s`` seconds, its
    ``marker`` file (if any) exists, and, for GRIB, it is a sequence of whole messages."""
    try:
        stat = os.stat(path)
    except OSError:
        return False
    if marker and not os.path.exists(marker):
        return False
    if min_age_s and (now if now is not None else time.time()) - stat.st_mtime < min_age_s:
        return False
    if file_format(path) == "grib":
        return grib_complete(path)
    return stat.st_size > 0


def available_inputs(config: Mapping) -> set[tuple[int, int]]:
    """Return the ``(member, lead)`` pairs whose input files are complete now (config ``incremental``).

    A pair counts when its model file and the constants file are complete (:func:`input_complete` with
    ``run.ready_pattern`` and ``run.min_age_s``). With ``sample.activate`` every pair counts: the
    workflow writes the sample itself.
    """
    pairs = {(m, t) for m in config["members"] for t in config["lead_times"]}
    if is_activated(config, "sample"):
        return pairs
    directory, constants, pattern = input_layout(config)
    run = config["run"]
    min_age = run.get("min_age_s", 0)
    now = time.time()
    if not input_complete(_join(directory, constants), min_age_s=min_age, now=now):
        return set()
    ready = run.get("ready_pattern") or ""
    result = set()
    for member, lead in pairs:
        path = _join(directory, input_file_name(pattern, member, lead))
        marker = _join(directory, input_file_name(ready, member, lead)) if ready else None
        if input_complete(path, marker=marker, min_age_s=min_age, now=now):
            result.add((member, lead))
    return result
