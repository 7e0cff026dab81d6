"""Incremental runs: which members and lead times have complete input files now (config ``incremental``).

A file the model is still writing is not complete: cut inside a message it fails the GRIB structure check;
cut at a message boundary it looks whole, and only the model's completion marker (``run.ready_pattern``)
or its age (``run.min_age_s``) tell; the jobs' reader refuses a field with levels, members or lead times
missing in any case (:func:`nwpflow.open_run`). A run folder that does not exist is a config error, not
an empty run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

from nwpflow.errors import ConfigError
from nwpflow.io.formats import file_format, grib_complete
from nwpflow.workflow.paths import _join, input_file_name, input_layout
from nwpflow.workflow.plan import is_activated

log = logging.getLogger("nwpflow")


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
    if not os.path.isdir(directory):
        raise ConfigError("run.input_dir", f"{directory!r} is not a folder (working directory {os.getcwd()!r}): "
                                           "give the folder the model writes the run to")
    run = config["run"]
    min_age = run.get("min_age_s", 0)
    now = time.time()
    result = set()
    constants_complete = input_complete(_join(directory, constants), min_age_s=min_age, now=now)
    if constants_complete:
        ready = run.get("ready_pattern") or ""
        for member, lead in pairs:
            path = _join(directory, input_file_name(pattern, member, lead))
            marker = _join(directory, input_file_name(ready, member, lead)) if ready else None
            if input_complete(path, marker=marker, min_age_s=min_age, now=now):
                result.add((member, lead))
    log.warning("nwpflow: incremental: %d of %d member/lead time pairs have complete inputs in %r%s", len(result),
                len(pairs), directory, "" if result else f" (constants file {constants!r} "
                + ("complete" if constants_complete else "missing or incomplete") + ")")
    return result
