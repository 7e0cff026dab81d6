"""The frame of every job: stderr and logging to the job's log, numba threads, the end of the process."""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from nwpflow.errors import one_line

logger = logging.getLogger("nwpflow")


def set_threads(threads: int | None) -> int:
    """Use ``threads`` numba threads (capped at what numba was started with); return the number used."""
    import numba

    if threads is None:
        return numba.get_num_threads()
    used = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(used)
    return used


def setup_logging() -> None:
    """Log at INFO level to ``sys.stderr``, which the job scripts point at the job's log."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


def skip_xarray_dask_probe() -> None:
    """Tell xarray that this process holds no dask arrays, before it imports ``dask.array`` to find out.

    xarray asks whether an array is a dask array each time it wraps one (``as_compatible_data``), and
    the first time it imports ``dask.array`` for the class to compare with; with scipy installed that
    also imports ``scipy.fft`` (through ``dask.array.fft``): 0.3-0.9 s of every job's start-up, measured
    (docs/benchmarks.md). nwpflow's jobs never make dask arrays (a bundle's graph is ``dask.delayed``
    over numpy-backed objects), so a job records the answer, "no dask array type", in xarray's cache of
    duck-array modules. Nothing is recorded where ``dask.array`` is imported already, so xarray still
    recognises dask arrays in a process that uses them.
    """
    if "dask.array" in sys.modules:
        return
    from xarray.namedarray import pycompat

    if "dask" in pycompat._cached_duck_array_modules:
        return
    absent = object.__new__(pycompat.DuckArrayModule)
    absent.module, absent.version, absent.type, absent.available = None, pycompat.Version("0"), (), False
    pycompat._cached_duck_array_modules["dask"] = absent


@contextlib.contextmanager
def job() -> Iterator[None]:
    """The frame of every job function: stderr (and descriptor 2) to the job's log, logging set up,
    xarray's dask probe skipped (:func:`skip_xarray_dask_probe`), SIGTERM turned into an interrupt, a
    failure reported in one line (:func:`report_failure`) before its traceback, and, once the body has run,
    the tests' fault hook (:func:`inject_test_fault`, inert unless ``NWPFLOW_TEST_FAULT`` is set)."""
    with _stderr_to_log() as terminal, _interrupt_on_sigterm():
        setup_logging()
        skip_xarray_dask_probe()
        try:
            yield
            inject_test_fault()
        except BaseException as error:
            report_failure(error, terminal)
            raise


def report_failure(error: BaseException, terminal: int | None = None) -> str:
    """Write the one line of a failed job first (``nwpflow: error: ...``, as the CLI prints it:
    :func:`nwpflow.errors.one_line`) to the job's log, where its traceback follows, and to the terminal
    Snakemake runs in (descriptor ``terminal``), beside Snakemake's own "Error in rule" report; return it.
    An error no user caused (a bug) gets a line too, saying so."""
    line = one_line(error) or (f"nwpflow: error: {type(error).__name__}: {error} (not a problem of the input "
                               "or config: a bug; the traceback follows in the log, please report it)")
    line = " ".join(line.split())
    with contextlib.suppress(Exception):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    if terminal is not None:
        with contextlib.suppress(OSError):
            os.write(terminal, (line + "\n").encode())
    return line


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """While a job runs, let SIGTERM (Snakemake stopping its jobs, SLURM's time limit) raise
    ``KeyboardInterrupt`` in the main thread, so that the temporary file of an output being written is
    removed (:func:`nwpflow.io.writer.atomic_output`); SIGKILL leaves it, and the next job for that output
    removes it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _stderr_to_log() -> Iterator[int | None]:
    """Point file descriptor 2 at ``sys.stderr`` (the job's log) while a job runs; yield a descriptor of
    the terminal it pointed at before (``None`` where nothing was redirected).

    The scripts point ``sys.stderr`` at the job's log, which catches Python's messages only; ecCodes
    and numba write to descriptor 2, which Snakemake's own stderr holds. Nothing is redirected where
    ``sys.stderr`` has no file descriptor of its own (e.g. under pytest's capture).
    """
    try:
        sys.stderr.flush()
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    saved = None
    if fd != 2:
        saved = os.dup(2)
        os.dup2(fd, 2)
    try:
        yield saved
    finally:
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


TEST_FAULT_VARIABLE = "NWPFLOW_TEST_FAULT"
"""The environment variable of :func:`inject_test_fault`; only the test suite sets it."""


class InjectedFault(RuntimeError):
    """The failure :func:`inject_test_fault` raises on purpose."""


def inject_test_fault() -> None:
    """Test-only: make this job fail, or stall, on purpose, where ``NWPFLOW_TEST_FAULT`` asks for it.

    ``tests/test_slurm.py`` uses it to check what the workflow does when a job fails, keeps failing or is
    cancelled; nothing else sets the variable, and while it is unset (always, in operation) this does
    nothing. :func:`job` calls it after the job's body, so the job has written its outputs when the fault
    strikes: a failing job then shows that Snakemake removes them. The value is ``;``-separated items
    ``PATTERN=ACTION``; PATTERN is an :mod:`fnmatch` pattern matched against the job's log file (the
    absolute path of ``sys.stderr``, e.g. ``*/001/000h/bundle_pair.log``) and ACTION is one of

    - ``fail``: raise :class:`InjectedFault`, on every run of the job;
    - ``fail:N``: raise it on the job's first N runs only (counted in the file ``<log>.fault-runs``, as
      each attempt truncates the log), then succeed: a fault that a retry cures;
    - ``sleep:S``: sleep S seconds, then go on (time for a test to cancel the running job).
    """
    spec = os.environ.get(TEST_FAULT_VARIABLE)
    log_name = getattr(sys.stderr, "name", None)
    if not spec or not isinstance(log_name, str):
        return
    log_file = os.path.abspath(log_name)
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        pattern, _, action = item.partition("=")
        if not fnmatch.fnmatch(log_file, pattern):
            continue
        kind, _, argument = action.partition(":")
        if kind == "sleep":
            logger.warning("%s: sleeping %s s on purpose", TEST_FAULT_VARIABLE, argument)
            time.sleep(float(argument))
        elif kind == "fail":
            runs = Path(log_file + ".fault-runs")
            failed = len(runs.read_text().splitlines()) if runs.exists() else 0
            if argument and failed >= int(argument):
                continue
            with runs.open("a") as record:
                record.write("failed\n")
            raise InjectedFault(f"{TEST_FAULT_VARIABLE}: failure {failed + 1} injected on purpose ({item!r})")
        else:
            raise ValueError(f"{TEST_FAULT_VARIABLE}: unknown action {action!r} in {item!r}; "
                             "allowed: fail, fail:N, sleep:S")


def log_cache_use() -> None:
    """Log how many kernels this job loaded from numba's cache and how many it compiled."""
    from nwpflow.kernels import _cache

    logger.info("numba kernels: %s (NUMBA_CACHE_DIR=%s)", _cache.report(), os.environ.get("NUMBA_CACHE_DIR"))


def end_job_process() -> None:
    """End a job's process at once, after a job function returned: flush the logs and standard
    streams, then ``os._exit(0)``.

    The scripts call it last. A normal interpreter exit tears down every module (numba, llvmlite,
    xarray, pandas, ecCodes), which costs 0.2-0.6 s per job, measured (docs/benchmarks.md), and does
    nothing a finished job needs: every output was written, closed and renamed into place before the job
    function returned. A failing job never gets here: its exception ends the process the usual way,
    with the traceback in its log.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


__all__ = [
    "TEST_FAULT_VARIABLE",
    "InjectedFault",
    "end_job_process",
    "inject_test_fault",
    "job",
    "log_cache_use",
    "report_failure",
    "set_threads",
    "setup_logging",
    "skip_xarray_dask_probe",
]
