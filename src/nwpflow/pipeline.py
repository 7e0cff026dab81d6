"""Compute products from input files to output files: the one code path of the CLI and the rules."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nwpflow.errors import NwpflowError
from nwpflow.io import open_run, write_netcdf
from nwpflow.products import compute, fields_needed, registry

log = logging.getLogger("nwpflow")


def set_threads(threads: int | None) -> int:
    """Use ``threads`` numba threads (capped at what numba was started with); return the number used."""
    import numba

    if threads is None:
        return numba.get_num_threads()
    used = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(used)
    return used


def history_of(name: str, inputs: Sequence[str | os.PathLike]) -> str:
    """The ``history`` line of a product file: the product and the names of its input files."""
    return f"{name} from {' '.join(os.path.basename(str(p)) for p in inputs)}"


FORMAT_SUFFIXES: dict[str, str] = {"netcdf": ".nc", "grib2": ".grib2"}
"""Output format (config ``formats``) -> suffix of its files; a product's files differ only in suffix."""


def format_of(path: str | os.PathLike) -> str:
    """Return the output format of ``path`` from its suffix (``.grib2``: grib2, anything else: netcdf)."""
    return "grib2" if str(path).endswith(FORMAT_SUFFIXES["grib2"]) else "netcdf"


def format_paths(path: str | os.PathLike, formats: Sequence[str] | None = None) -> dict[str, Path]:
    """Return ``{format: file}`` of one product: ``path`` with the suffix of each of ``formats``.

    ``formats`` ``None``: the format of ``path`` alone.

    Examples
    --------
    >>> {k: str(v) for k, v in format_paths("out/BRN.nc", ["netcdf", "grib2"]).items()}
    {'netcdf': 'out/BRN.nc', 'grib2': 'out/BRN.grib2'}
    """
    path = Path(path)
    if formats is None:
        return {format_of(path): path}
    unknown = [f for f in formats if f not in FORMAT_SUFFIXES]
    if unknown or not formats:
        raise NwpflowError(f"unknown output format {unknown[0] if unknown else None!r}; allowed: "
                           f"{', '.join(FORMAT_SUFFIXES)}")
    stem = path.with_suffix("") if path.suffix in FORMAT_SUFFIXES.values() else path
    return {f: stem.with_name(stem.name + FORMAT_SUFFIXES[f]) for f in dict.fromkeys(formats)}


def grib2_template(inputs: Sequence[str | os.PathLike], paths: Mapping[str, Mapping[str, Path]]):
    """The GRIB2 template of a job (:class:`nwpflow.io.grib_writer.GribTemplate` from its GRIB inputs), or
    ``None`` where no product goes to GRIB2 (``paths``: product -> :func:`format_paths`)."""
    if not any("grib2" in p for p in paths.values()):
        return None
    from nwpflow.io.grib_writer import GribTemplate

    return GribTemplate.from_files(inputs)


def grib2_packing(grib2: Mapping[str, Any] | None) -> dict[str, Any]:
    """``packing`` and ``bits_per_value`` of :func:`~nwpflow.io.grib_writer.write_grib2` from config ``grib2``
    (whose ``bits_per_value`` is ignored with ``ieee`` packing)."""
    grib2 = dict(grib2 or {})
    packing = grib2.get("packing", "ieee")
    return {"packing": packing, "bits_per_value": None if packing == "ieee" else grib2.get("bits_per_value")}


def write_product(result, paths: Mapping[str, Path], *, history: str, template=None,
                  grib2: Mapping[str, Any] | None = None) -> Path:
    """Write one computed product in every format of ``paths`` (:func:`format_paths`); return the first file.

    ``grib2``: ``{"packing": "ieee" | "simple" | "ccsds", "bits_per_value": int}`` (config ``grib2``).
    """
    first = None
    for fmt, path in paths.items():
        if fmt == "grib2":
            from nwpflow.io.grib_writer import write_grib2

            written = write_grib2(result, path, template=template, **grib2_packing(grib2))
        else:
            written = write_netcdf(result, path, history=history)
        first = first or written
    return first


def products_in_files(inputs: Sequence[str | os.PathLike]) -> set[str]:
    """Return the registered products that NetCDF files among ``inputs`` hold (nwpflow's own outputs).

    Only the variable names are read; GRIB files and other formats are skipped.
    """
    found: set[str] = set()
    for path in inputs:
        if not os.path.isfile(path):
            continue  # open_run reports it
        with open(path, "rb") as f:
            head = f.read(8)
        if head[:3] != b"CDF" and head != b"\x89HDF\r\n\x1a\n":
            continue
        import netCDF4

        with netCDF4.Dataset(path) as dataset:
            found |= {name for name in dataset.variables if name in registry}
    return found


def plan_outputs(
    products: Sequence[str],
    outputs: Mapping[str, str | os.PathLike],
    *,
    options: Mapping[str, Mapping[str, Any]],
    formats: Sequence[str] | None,
    grib2: Mapping[str, Any] | None,
) -> tuple[list[str], dict[str, dict[str, Path]]]:
    """Check a job's request before any input is read and return its products (duplicates dropped) and
    ``{product: {format: file}}`` (:func:`format_paths`).

    Raises :class:`~nwpflow.errors.NwpflowError` for no product or a product without an output path, the
    registry's errors for an unknown product or option, and
    :class:`~nwpflow.io.grib_writer.Grib2OutputError` for a GRIB2 packing that cannot be used.
    """
    products = list(dict.fromkeys(products))
    if not products:
        raise NwpflowError("no product requested")
    for name in products:
        registry[name].resolve_options(options.get(name, {}))
    for name in options:
        registry[name]
    missing = [name for name in products if name not in outputs]
    if missing:
        raise NwpflowError(f"no output path for {', '.join(missing)}")
    paths = {name: format_paths(outputs[name], formats) for name in products}
    grib2_files = [p["grib2"] for p in paths.values() if "grib2" in p]
    if grib2_files:
        from nwpflow.io.grib_writer import resolve_packing

        resolve_packing(*grib2_packing(grib2).values(), grib2_files[0])
    return products, paths


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
) -> dict[str, Path]:
    """Read ``inputs`` once, compute ``products`` and write each in every output format.

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
    # Products of products: a required product whose file is among the inputs (e.g. BRN.nc for HPBL)
    # is read back instead of computed again.
    available = products_in_files(inputs) - set(products)
    dataset = open_run(inputs, fields_needed(products, available), threads=used)
    log.info("read %s fields from %d files in %.2f s", ", ".join(dataset.data_vars), len(inputs),
             time.perf_counter() - start)
    template = grib2_template(inputs, paths)
    written = {}
    cache: dict = {}  # required products and shared intermediates, computed once for all products
    for name in products:
        start = time.perf_counter()
        result = compute(name, dataset, cache=cache, **options.get(name, {}))
        written[name] = write_product(result, paths[name], history=history_of(name, inputs), template=template,
                                      grib2=grib2)
        log.info("%s computed and written to %s in %.2f s (%d threads)", name, written[name],
                 time.perf_counter() - start, used)
    return written
