"""Products of one member and lead time, from input files to output files: the product jobs (one product
each) and the CLI's ``nwpflow compute``."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nwpflow.errors import NwpflowError
from nwpflow.io.reader import open_run, run_contents
from nwpflow.jobs.frame import job, log_cache_use, set_threads
from nwpflow.jobs.outputs import grib2_template, history_of, plan_outputs, products_in_files, write_product
from nwpflow.products import check_inputs, compute, fields_needed, registry
from nwpflow.products.identity import product_identity
from nwpflow.provenance import JobProvenance

log = logging.getLogger("nwpflow")


def compute_products(
    products: Sequence[str],
    inputs: Sequence[str | os.PathLike],
    *,
    outputs: Mapping[str, str | os.PathLike] | None = None,
    output_dir: str | os.PathLike | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    threads: int | None = None,
    formats: Sequence[str] | None = None,
    grib2: Mapping[str, Any] | None = None,
    members: Sequence[int] | None = None,
    lead_times: Sequence[int] | None = None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Read ``inputs`` once, compute ``products`` and write each in every output format, with its
    provenance record (:mod:`nwpflow.provenance`).

    Parameters
    ----------
    products
        Product names (see ``nwpflow products``).
    inputs
        Files of the run (GRIB or NetCDF); only the fields the products need are decoded.
    outputs, output_dir
        Where each product goes: ``outputs[name]``, or ``output_dir/NAME.nc``; with ``formats``, the same
        path with each format's suffix (``.nc``, ``.grib2``).
    options
        Per-product options, ``{product: {option: value}}``.
    threads
        numba threads for the kernels and threads for GRIB decoding.
    formats
        Output formats, any of ``netcdf``, ``grib2`` (config ``formats``); ``None``: each output's own,
        from its suffix (``.grib2`` is GRIB2, anything else NetCDF).
    grib2
        GRIB2 packing, ``{"packing": "ieee" | "simple" | "ccsds", "bits_per_value": int}`` (config
        ``grib2``; default 32-bit IEEE, exact). The grid is taken from the GRIB files among ``inputs``.
    members, lead_times, invalid_values
        What the inputs must hold, and what to do with implausible values (:func:`nwpflow.open_run`).
    grid
        The run's grid file (:func:`nwpflow.io.grid.write_grid`): NetCDF files on ICON cells name it
        instead of holding the cell coordinates. ``None``: they hold them.

    Returns
    -------
    dict
        Product name -> path written (the first format's file).
    """
    options = dict(options or {})
    if outputs is None:
        if output_dir is None:
            raise NwpflowError("give outputs or output_dir")
        outputs = {name: Path(output_dir) / f"{name}.nc" for name in products}
    products, paths = plan_outputs(products, outputs, options=options, formats=formats, grib2=grib2)
    used = set_threads(threads)
    start = time.perf_counter()
    origin = JobProvenance.start(inputs, used)  # input digests in a thread, while the fields are decoded
    # Products of products: a required product whose file is among the inputs (e.g. BRN.nc for HPBL)
    # is read back instead of computed again.
    available = products_in_files(inputs) - set(products)
    check_inputs(products, run_contents(inputs), options, available)  # headers only: fail before decoding
    dataset = open_run(inputs, fields_needed(products, available, options), threads=used, members=members,
                       lead_times=lead_times, invalid_values=invalid_values)
    log.info("read %s fields from %d files in %.2f s", ", ".join(dataset.data_vars), len(inputs),
             time.perf_counter() - start)
    template = grib2_template(inputs, paths)
    written = {}
    cache: dict = {}  # required products and shared intermediates, computed once for all products
    for name in products:
        start = time.perf_counter()
        result = compute(name, dataset, cache=cache, **options.get(name, {}))
        record = origin.record(name, registry[name].resolve_options(options.get(name, {})),
                               product_identity(name, list(paths[name])), formats=list(paths[name]))
        written[name] = write_product(result, paths[name], history=history_of(name, inputs), template=template,
                                      grib2=grib2, record=record, grid=grid)
        log.info("%s computed and written to %s in %.2f s (%d threads)", name, written[name],
                 time.perf_counter() - start, used)
    return written


def run_product_job(
    product: str,
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    threads: int = 1,
    options: Mapping | None = None,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    members: Sequence[int] | None = None,
    lead_times: Sequence[int] | None = None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> Path:
    """Compute one product from one member and lead time and write it in each format (rules ``products.smk``).

    Parameters
    ----------
    product : str
        Product name in the registry, e.g. ``"BRN"``.
    inputs : sequence of path-like
        The model-output file and the constants file (and the files of the products it requires).
    output : path-like
        File to write (NetCDF, or GRIB2 for a ``.grib2`` path); with ``formats``, one file per format: the
        path with each format's suffix.
    threads : int
        numba threads.
    options : Mapping, optional
        Options of the product, ``{option: value}`` (see ``nwpflow.products.registry``).
    formats, grib2 : optional
        Config ``formats`` and ``grib2`` (:func:`compute_products`); ``None``: the format of ``output`` (its
        suffix), and ecCodes' IEEE packing.
    members, lead_times, invalid_values
        The job's member and lead time, which its inputs must hold, and config ``invalid_values``
        (:func:`nwpflow.open_run`).
    grid : path-like, optional
        The run's grid file (:func:`compute_products`).

    Returns
    -------
    Path
        The file written.
    """
    with job():
        start = time.perf_counter()
        log.info("computing %s from %s with %d threads (NUMBA_CACHE_DIR=%s)",
                 product, [str(p) for p in inputs], threads, os.environ.get("NUMBA_CACHE_DIR"))
        written = compute_products(
            [product],
            [str(p) for p in inputs],
            outputs={product: str(output)},
            options={product: dict(options)} if options else None,
            threads=threads,
            formats=formats,
            grib2=grib2,
            members=members,
            lead_times=lead_times,
            invalid_values=invalid_values,
            grid=grid,
        )
        log.info("wrote %s in %.1f s", written[product], time.perf_counter() - start)
        log_cache_use()
    return Path(written[product])


__all__ = ["compute_products", "run_product_job"]
