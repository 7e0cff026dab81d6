"""Bundles: several products of one member and lead time computed as one job, one ``dask.delayed`` graph.

A product job costs about a second before it computes anything (process start, imports, loading the
compiled kernels) and then decodes its input fields, while a memory-bound product computes in a fraction
of that. A bundle pays both once::

    read (every input field of every product, each decoded once)
      ├── compute BRN ──── write BRN.nc
      │        └──────── compute HPBL ── write HPBL.nc      (a requirement is a task of its own)
      ├── compute THETA ── write THETA.nc
      └── ...

Each product is an independent ``dask.delayed`` task that reads the shared dataset; a product another
one requires is computed once, as its own task, when it is in the bundle, or read back from its file
when it is not. The products run :func:`nwpflow.products.compute` exactly as the one-product jobs do
(:func:`nwpflow.jobs.compute.compute_products`), so the files hold the same bits.

Threads (:func:`plan_threads`): a job has ``threads`` cores. Decoding runs alone, on all of them. The
products then run ``workers`` at a time, each with ``threads // workers`` numba threads
(``numba.set_num_threads`` is per calling thread), so numba threads x dask workers never exceed
``threads``. That needs a thread-safe numba threading layer: ``omp`` (GNU OpenMP, what numba picks here
when TBB is absent) or ``tbb`` (``pip install tbb``) let several threads launch parallel kernels at
once. numba's fallback layer ``workqueue`` is not thread-safe: a second concurrent launch aborts the
process ("Terminating: Nested parallel kernel launch detected"), which is why numbagg drops to serial
kernels inside a thread pool (``numbagg/decorators.py::_is_in_unsafe_thread_pool``). Under
``workqueue`` the graph therefore runs on dask's synchronous scheduler, one product at a time with all
``threads`` numba threads: still one read and one process for all products, no parallel products.

NetCDF writes (HDF5 is not thread-safe) are serialised with a lock; GRIB2 files (config ``formats``) are
written under the same lock, right after each product's NetCDF file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask
import numba
from dask import delayed
from numba.np.ufunc import parallel

from nwpflow.io.reader import open_run, run_contents
from nwpflow.jobs.frame import job, log_cache_use, set_threads
from nwpflow.jobs.outputs import grib2_template, history_of, plan_outputs, products_in_files, write_product
from nwpflow.products import check_inputs, compute, fields_needed, registry
from nwpflow.products.identity import product_identity
from nwpflow.provenance import JobProvenance

log = logging.getLogger("nwpflow")

THREADSAFE_LAYERS = ("tbb", "omp")
"""numba threading layers that allow parallel kernels to be launched from several threads at once."""

_WRITE_LOCK = threading.Lock()


def threading_layer() -> str:
    """Return the threading layer numba uses in this process (``tbb``, ``omp`` or ``workqueue``),
    starting numba's threads if they are not running yet."""
    parallel._launch_threads()  # what numba does before its first parallel call; idempotent
    return numba.threading_layer()


def plan_threads(threads: int, tasks: int, layer: str) -> tuple[int, int]:
    """Return ``(dask workers, numba threads per task)`` for a job of ``threads`` cores.

    Parameters
    ----------
    threads : int
        Cores of the job (its Snakemake ``threads``).
    tasks : int
        Product tasks in the graph.
    layer : str
        numba's threading layer (:func:`threading_layer`).

    Returns
    -------
    tuple of int
        Their product never exceeds ``threads``. With a thread-safe layer, as many workers as there are
        cores and tasks, and the cores left to numba; with ``workqueue`` one worker with every core.

    Examples
    --------
    >>> plan_threads(2, 10, "omp")
    (2, 1)
    >>> plan_threads(8, 3, "tbb")
    (3, 2)
    >>> plan_threads(8, 10, "workqueue")
    (1, 8)
    """
    threads = max(1, int(threads))
    if layer not in THREADSAFE_LAYERS:
        return 1, threads
    workers = max(1, min(threads, tasks))
    return workers, max(1, threads // workers)


def compute_bundle(
    products: Sequence[str],
    inputs: Sequence[str | os.PathLike],
    outputs: Mapping[str, str | os.PathLike],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    threads: int = 1,
    formats: Sequence[str] | None = None,
    grib2: Mapping[str, Any] | None = None,
    members: Sequence[int] | None = None,
    lead_times: Sequence[int] | None = None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Compute ``products`` of one member and lead time as one ``dask.delayed`` graph and write each file
    (with the same provenance record a product's own job writes).

    Parameters
    ----------
    products : sequence of str
        Product names (see ``nwpflow products``).
    inputs : sequence of path-like
        The model-output file, the constants file and the files of required products that are not in
        ``products`` (e.g. BRN.nc for HPBL); each needed field is decoded once.
    outputs : Mapping
        Product name -> file to write (with ``formats``, one file per format: the path with each format's
        suffix, :func:`nwpflow.naming.format_paths`).
    options : Mapping, optional
        Per-product options, ``{product: {option: value}}``.
    threads : int
        Cores of the job: decoding threads, then dask workers x numba threads (:func:`plan_threads`).
    formats, grib2, members, lead_times, invalid_values, grid : optional
        Output formats and GRIB2 packing, what the inputs must hold, what to do with implausible values and
        the run's grid file, as :func:`nwpflow.jobs.compute.compute_products`.

    Returns
    -------
    dict
        Product name -> path written (the first format's file).
    """
    options = {name: dict(opts) for name, opts in (options or {}).items()}
    products, paths = plan_outputs(products, outputs, options=options, formats=formats, grib2=grib2)
    inputs = [os.fspath(p) for p in inputs]
    template = grib2_template(inputs, paths)
    threads = set_threads(threads)
    layer = threading_layer()
    origin = JobProvenance.start(inputs, threads)

    available = products_in_files(inputs) - set(products)
    check_inputs(products, run_contents(inputs), options, available)  # headers only: fail before decoding
    fields = fields_needed(products, available, options)
    request = {"members": members, "lead_times": lead_times, "invalid_values": invalid_values}
    dataset = delayed(_read, pure=True)(inputs, fields, threads, request, dask_key_name="read")

    computed: dict[str, Any] = {}
    # Intermediates products share (registry.compute): one dict for the whole job. A dict subclass, so
    # that dask passes it to every task as it is instead of rebuilding a copy per task.
    cache = _SharedCache()

    def task(name: str, per_task: int):
        if name not in computed:
            requirements = {r: task(r, per_task) for r in registry[name].requires if r not in available}
            computed[name] = delayed(_compute, pure=True)(
                name, dataset, requirements, options.get(name, {}), cache, per_task,
                dask_key_name=f"compute-{name}")
        return computed[name]

    # count the tasks first (requirements computed in the graph are tasks too), then build them
    tasks = len({r for p in products for r in _closure(p, registry, available)})
    workers, per_task = plan_threads(threads, tasks, layer)
    writes = [delayed(_write, pure=True)(name, task(name, per_task), paths[name], inputs, template, grib2,
                                         origin, options.get(name, {}), grid, dask_key_name=f"write-{name}")
              for name in products]
    log.info("bundle of %d products (%d tasks) from %s: numba threading layer %s, %d dask workers x %d numba "
             "threads (job threads %d)", len(products), tasks, [os.path.basename(p) for p in inputs], layer,
             workers, per_task, threads)
    start = time.perf_counter()
    if workers == 1:
        written = dask.compute(*writes, scheduler="synchronous")
    else:
        written = dask.compute(*writes, scheduler="threads", num_workers=workers)
    log.info("bundle computed and written in %.2f s", time.perf_counter() - start)
    return dict(zip(products, written))


class _SharedCache(dict):
    """The ``cache`` dict of :func:`nwpflow.products.compute` shared by the tasks of one bundle."""


def _closure(name: str, registry, available: set[str]) -> list[str]:
    result = [name]
    for required in registry[name].requires:
        if required not in available:
            result.extend(_closure(required, registry, available))
    return result


def _read(inputs: list[str], fields: list[str], threads: int, request: dict):
    set_threads(threads)
    start = time.perf_counter()
    dataset = open_run(inputs, fields, threads=threads, **request)
    log.info("read %s from %d files in %.2f s", ", ".join(map(str, dataset.data_vars)), len(inputs),
             time.perf_counter() - start)
    return dataset


def _compute(name: str, dataset, requirements: dict, options: dict, cache: dict, threads: int):
    numba.set_num_threads(threads)  # per calling thread: this dask worker's share of the job's cores
    start = time.perf_counter()
    if requirements:
        dataset = dataset.assign(requirements)
    result = compute(name, dataset, cache=cache, **options)
    log.info("%s computed in %.2f s (%d numba threads, %s)", name, time.perf_counter() - start,
             numba.get_num_threads(), threading.current_thread().name)
    return result


def _write(name: str, result, paths, inputs: list[str], template, grib2, origin: JobProvenance, options: dict,
           grid) -> Path:
    record = origin.record(name, registry[name].resolve_options(options), product_identity(name, list(paths)),
                           formats=list(paths))
    with _WRITE_LOCK:
        start = time.perf_counter()
        written = write_product(result, paths, history=history_of(name, inputs), template=template, grib2=grib2,
                                record=record, grid=grid)
    log.info("%s written to %s in %.2f s", name, written, time.perf_counter() - start)
    return written


def run_bundle_job(
    products: Sequence[str],
    inputs: Sequence[str | os.PathLike],
    outputs: Mapping[str, str | os.PathLike],
    *,
    threads: int = 1,
    options: Mapping[str, Mapping] | None = None,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    members: Sequence[int] | None = None,
    lead_times: Sequence[int] | None = None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Compute a bundle of products of one member and lead time as one dask.delayed graph (rules
    ``bundle_*``; :func:`compute_bundle`).

    Parameters
    ----------
    products : sequence of str
        The bundle's products.
    inputs : sequence of path-like
        The model-output file, the constants file and the files of required products outside the bundle.
    outputs : Mapping
        Product -> NetCDF file to write.
    threads : int
        Cores of the job (decoding threads, then dask workers x numba threads).
    options : Mapping, optional
        ``{product: {option: value}}``.
    formats, grib2, members, lead_times, invalid_values, grid : optional
        As :func:`nwpflow.jobs.compute.run_product_job`.
    """
    with job():
        start = time.perf_counter()
        log.info("bundle %s from %s with %d threads", list(products), [str(p) for p in inputs], threads)
        written = compute_bundle(list(products), [str(p) for p in inputs], dict(outputs),
                                 options={k: dict(v) for k, v in (options or {}).items() if v}, threads=threads,
                                 formats=formats, grib2=grib2, members=members, lead_times=lead_times,
                                 invalid_values=invalid_values, grid=grid)
        log.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
        log_cache_use()
    return written


__all__ = ["THREADSAFE_LAYERS", "compute_bundle", "plan_threads", "run_bundle_job", "threading_layer"]
