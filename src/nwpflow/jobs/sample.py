"""The sample job (rule ``sample``): write the embedded sample run."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from nwpflow.io.sample import write_sample
from nwpflow.jobs.frame import job

log = logging.getLogger("nwpflow")


def run_sample_job(
    directory: str | os.PathLike,
    *,
    preset: str,
    members: Sequence[int],
    lead_times: Sequence[int],
    expected: Sequence[str | os.PathLike] = (),
) -> list[Path]:
    """Write the embedded sample run (rule ``sample``) and check it holds the expected files.

    Parameters
    ----------
    directory : path-like
        Folder to write the sample run into.
    preset : str
        Sample preset name (``nwpflow.io.sample.PRESETS``).
    members, lead_times : sequence of int
        Members and lead times (hours) to write.
    expected : sequence of path-like
        Files the rule declares as outputs; each must exist afterwards.

    Returns
    -------
    list of Path
        The files ``write_sample`` wrote.
    """
    with job():
        start = time.perf_counter()
        log.info("writing sample preset %r, members %s, lead times %s h into %s",
                 preset, list(members), list(lead_times), directory)
        written = write_sample(directory, preset=preset, members=list(members), lead_times=list(lead_times))
        missing = [str(p) for p in expected if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"write_sample did not write {', '.join(missing)} (it wrote {written})")
        log.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
    return written


__all__ = ["run_sample_job"]
