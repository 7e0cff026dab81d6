"""Fan-in jobs: ensemble statistics over the members' files, time statistics over the lead times' files.

The statistics are :mod:`nwpflow.products.fanin`'s; these functions read one field per file
(:func:`nwpflow.io.reader.read_field`), stack the files along ``member`` or ``step``, reduce them and write
the result to NetCDF (and GRIB2, with ``formats``: WMO templates of statistics, :mod:`nwpflow.io.grib_writer`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from nwpflow.errors import InputError, OptionError
from nwpflow.io.reader import read_field
from nwpflow.jobs.frame import job, log_cache_use, set_threads
from nwpflow.jobs.outputs import grib2_template, write_product
from nwpflow.naming import ENSEMBLE_STATISTICS, format_paths, window_label
from nwpflow.products.identity import fanin_identity
from nwpflow.provenance import JobProvenance
from nwpflow.products.fanin import (
    DECREASE_POLICIES,
    TIME_KINDS,
    DecreasingAccumulationError,
    WindowLike,
    accumulation,
    check_choice,
    check_ensemble_options,
    ensemble_statistics,
    hours_text,
    parse_duration,
    parse_window,
    window_minutes,
    window_statistic,
    with_bounds,
)

log = logging.getLogger("nwpflow")


def _stack(parts: list[xr.DataArray], dim: str, labels: list, paths: list[str], name: str) -> xr.DataArray:
    """Stack same-shaped fields along a new leading ``dim`` into one preallocated float32 array."""
    first = parts[0]
    for part, path in zip(parts[1:], paths[1:]):
        if part.dims != first.dims or part.shape != first.shape:
            raise InputError(f"has dims {dict(part.sizes)}, {paths[0]!r} has {dict(first.sizes)}", path=path,
                             field=name)
    values = np.empty((len(parts), *first.shape), dtype=np.float32)
    for i, part in enumerate(parts):
        values[i] = part.values
    # valid_time differs between lead times; it is rebuilt from the reference time and the steps
    coords = {k: v for k, v in first.coords.items() if k != dim and not (dim == "step" and k == "valid_time")}
    coords[dim] = (dim, np.asarray(labels))
    return xr.DataArray(values, dims=(dim, *first.dims), coords=coords, attrs=first.attrs, name=name)




def compute_ensemble_products(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    statistics: Sequence[str] = ENSEMBLE_STATISTICS,
    quantiles: Sequence[float] = (),
    thresholds: Sequence[float] = (),
    *,
    field: str | None = None,
    ddof: int = 0,
    skipna: bool = False,
    comparison: Literal[">=", ">"] = ">=",
    threads: int | None = None,
    formats: Sequence[str] | None = None,
    grib2=None,
    template=None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> Path:
    """Read one file per member, compute the ensemble statistics, write them to one NetCDF file (and GRIB2),
    with its provenance record (:mod:`nwpflow.provenance`).

    Parameters
    ----------
    inputs : sequence of path-like
        One file per member of one product (or field) and lead time: nwpflow's NetCDF outputs
        (``results/{run}/{member}/{lead}h/{PRODUCT}.nc``), time products of each member, or GRIB files.
        The member number is each file's ``member`` coordinate (else its position in ``inputs``); a
        file that holds several members (an ERA5-style GRIB file) contributes each of them.
    output : path-like
        NetCDF file to write (atomically, :func:`nwpflow.io.write_netcdf`).
    statistics, quantiles, thresholds, ddof, skipna, comparison
        As :func:`ensemble_statistics`.
    field : str, optional
        The variable to read; default: the only data variable of each NetCDF file (required for GRIB).
    threads : int, optional
        numba threads.
    formats, grib2, template : optional
        Output formats (config ``formats``; ``None``: the format of ``output``), GRIB2 packing (config
        ``grib2``) and the model run's GRIB files (or a :class:`~nwpflow.io.grib_writer.GribTemplate`) that
        GRIB2 output takes its grid from (default: the GRIB files among ``inputs``). GRIB2 templates:
        :mod:`nwpflow.io.grib_writer`.
    invalid_values : {"error", "missing", "ignore"}
        Implausible values of a model field read from the inputs (:func:`nwpflow.open_run`).
    grid : path-like, optional
        The run's grid file, which a NetCDF file on ICON cells names instead of holding the cell coordinates.

    Returns
    -------
    Path
        The file written (the first format's).
    """
    check_ensemble_options(statistics, quantiles, thresholds, ddof, comparison)  # fail before reading
    paths = [os.fspath(p) for p in inputs]
    if not paths:
        raise InputError("no input file given")
    used = set_threads(threads)
    start = time.perf_counter()
    origin = JobProvenance.start(paths, used)
    parts = [read_field(path, field, invalid_values=invalid_values)[0] for path in paths]
    name = field or str(parts[0].name)
    split, labels, sources = [], [], []
    for i, part in enumerate(parts):
        if "member" in part.dims:  # a file with several members
            for j in range(part.sizes["member"]):
                split.append(part.isel(member=j))
                labels.append(int(part["member"].values[j]))
                sources.append(paths[i])
            continue
        split.append(part)
        labels.append(int(part.coords["member"].values) if "member" in part.coords else i)
        sources.append(paths[i])
    parts = split
    if len(set(labels)) != len(labels):
        duplicate = next(m for m in labels if labels.count(m) > 1)
        raise InputError(f"member {duplicate} is given twice: "
                         f"{', '.join(p for p, m in zip(sources, labels) if m == duplicate)}", field=name)
    if any("member" not in part.coords for part in parts):
        log.warning("%s: files without a member coordinate are numbered by their position", name)
    data = _stack(parts, "member", labels, sources, name)
    del parts
    log.info("read %s of %d members in %.2f s", name, len(labels), time.perf_counter() - start)
    start = time.perf_counter()
    result = ensemble_statistics(data, statistics, quantiles, thresholds, ddof=ddof, skipna=skipna,
                                 comparison=comparison, name=name)
    options = (f"statistics={list(statistics)}, quantiles={list(quantiles)}, thresholds={list(thresholds)}, "
               f"ddof={ddof}, skipna={skipna}, comparison={comparison!r}")
    settings = {"statistics": list(statistics), "quantiles": list(quantiles), "thresholds": list(thresholds),
                "ddof": ddof, "skipna": skipna, "comparison": comparison, "members": labels}
    written = _write(result, output, f"ensemble statistics of {name} over members {labels} ({options}) from "
                                     f"{' '.join(map(os.path.basename, paths))}", formats, grib2,
                     paths if template is None else template, origin, ("ensemble", name, settings), grid)
    log.info("%s ensemble statistics written to %s in %.2f s (%d threads)", name, written,
             time.perf_counter() - start, used)
    return written


def _write(result: xr.Dataset, output, history: str, formats, grib2, template, origin: JobProvenance,
           what: tuple[str, str, dict], grid) -> Path:
    """Write ``result`` in every format of ``formats`` (:func:`nwpflow.naming.format_paths`), with the record
    of ``what``: (kind, variable, settings)."""
    paths = format_paths(output, formats)
    kind, name, settings = what
    record = origin.record(name, settings, fanin_identity(list(paths)), formats=list(paths), kind=kind)
    return write_product(result, paths, history=history, template=grib2_template(template, {"output": paths}),
                         grib2=grib2, record=record, grid=grid)


def compute_time_products(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    field: str,
    kind: Literal["accumulation", "max", "min", "mean"],
    window: WindowLike,
    *,
    lead_times: Sequence[WindowLike] | None = None,
    sliding: bool = True,
    skipna: bool = False,
    on_decrease: Literal["raise", "nan"] = "raise",
    threads: int | None = None,
    formats: Sequence[str] | None = None,
    grib2=None,
    template=None,
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> Path:
    """Read a field at every lead time of one member, compute a window product, write it to NetCDF (and GRIB2).

    Parameters
    ----------
    inputs : sequence of path-like
        One file per lead time (GRIB model output such as ``{member}/lfffDDHH0000``, or nwpflow NetCDF
        product files), or files holding several lead times; not the constants file. The lead time is
        each file's ``step`` (GRIB: its end step, whatever its units), or ``lead_times``.
    output : path-like
        NetCDF file to write (atomically, :func:`nwpflow.io.write_netcdf`).
    field : str
        Field or product name, e.g. ``"TOT_PREC"``, ``"T_2M"``, ``"VMAX_10M"``, ``"FF_10M"``.
    kind : {"accumulation", "max", "min", "mean"}
        ``accumulation``: :func:`accumulation` of a field accumulated since the model start;
        the others: :func:`window_statistic`.
    window : window-like
        Window length, e.g. ``"3h"``, ``"24h"``, ``24`` (hours).
    lead_times : sequence of window-like, optional
        The lead time of each input file, for files that carry none (nwpflow's NetCDF product files);
        checked against the files' own where they have one. Ints are hours.
    sliding, skipna, on_decrease
        As :func:`accumulation` / :func:`window_statistic` (``skipna`` is for window statistics only).
    threads : int, optional
        numba threads.
    formats, grib2, template, invalid_values, grid : optional
        As :func:`compute_ensemble_products` (default template: the GRIB files among ``inputs``).

    Returns
    -------
    Path
        The file written (the first format's); its variable is :func:`time_variable_name` ``(field, kind,
        window)``.
    """
    check_choice("kind", kind, TIME_KINDS)
    check_choice("on_decrease", on_decrease, DECREASE_POLICIES)
    parse_window(window)
    paths = [os.fspath(p) for p in inputs]
    if not paths:
        raise InputError("no input file given", field=field)
    if lead_times is not None and len(lead_times) != len(paths):
        raise OptionError(f"lead_times has {len(lead_times)} values for {len(paths)} input files")
    used = set_threads(threads)
    start = time.perf_counter()
    origin = JobProvenance.start(paths, used)
    parts, labels = [], []
    packing: dict[np.timedelta64, float] = {}
    for i, path in enumerate(paths):
        part, quanta = read_field(path, field, invalid_values=invalid_values)
        given = None if lead_times is None else parse_duration(lead_times[i], "lead_times")
        if "step" in part.dims:
            if given is not None:
                raise OptionError(f"{path!r} holds {part.sizes['step']} lead times; lead_times is for files of one")
            for j in range(part.sizes["step"]):
                parts.append(part.isel(step=j, drop=True))
                labels.append((part["step"].values[j].astype("timedelta64[ns]"), path))
            packing.update(quanta)
            continue
        own = part.coords["step"].values.astype("timedelta64[ns]") if "step" in part.coords else None
        if own is not None and given is not None and own != given:
            raise InputError(f"is lead time {hours_text(own)[1:-1]}, lead_times says {hours_text(given)[1:-1]}",
                             path=path, field=field)
        step = own if own is not None else given
        if step is None:
            raise InputError("carries no lead time (step): give lead_times", path=path, field=field)
        parts.append(part.drop_vars(["step", "valid_time"], errors="ignore"))
        labels.append((step, path))
        packing[step] = max(quanta.values(), default=0.0)  # a file of one lead time: its own step
    order = sorted(range(len(labels)), key=lambda i: labels[i][0])
    steps = [labels[i][0] for i in order]
    for a, b in zip(order, order[1:]):
        if labels[a][0] == labels[b][0]:
            raise InputError(f"lead time {hours_text(labels[a][0])[1:-1]} is given twice: {labels[a][1]!r} and "
                             f"{labels[b][1]!r}", field=field)
    data = _stack([parts[i] for i in order], "step", steps, [labels[i][1] for i in order], field)
    data = data.assign_coords(step=("step", np.asarray(steps, dtype="timedelta64[ns]"),
                                    {"long_name": "lead time", "standard_name": "forecast_period"}))
    if "time" in data.coords and data["time"].ndim == 0:
        data = data.assign_coords(valid_time=("step", data["time"].values + data["step"].values,
                                              {"standard_name": "time", "long_name": "valid time"}))
    del parts
    log.info("read %s at %d lead times in %.2f s", field, data.sizes["step"], time.perf_counter() - start)
    start = time.perf_counter()
    if kind == "accumulation":
        try:
            result = accumulation(data, window, packing_step=[packing.get(step, 0.0) for step in steps],
                                  on_decrease=on_decrease, sliding=sliding)
        except DecreasingAccumulationError as error:
            files = {step: path for step, path in labels}
            raise DecreasingAccumulationError(
                f"{str(error).split(': ', 1)[1]} (files {files[error.start]!r} and {files[error.end]!r})",
                field=field, start=error.start, end=error.end, points=error.points, largest=error.largest,
            ) from None
    else:
        result = window_statistic(data, window, kind, skipna=skipna, sliding=sliding)
    history = (f"{result.name} ({kind} over {window_label(window_minutes(window))} windows, sliding={sliding}) from "
               f"{' '.join(map(os.path.basename, paths))}")
    settings = {"field": field, "kind": kind, "window": window_label(window_minutes(window)), "sliding": sliding,
                "skipna": skipna, "on_decrease": on_decrease}
    written = _write(with_bounds(result, window), output, history, formats, grib2,
                     paths if template is None else template, origin, ("time", str(result.name), settings), grid)
    log.info("%s written to %s in %.2f s (%d windows, %d threads)", result.name, written,
             time.perf_counter() - start, result.sizes["step"], used)
    return written




def run_ensemble_job(
    inputs: Mapping[str, Sequence[str | os.PathLike]],
    outputs: Mapping[str, str | os.PathLike],
    *,
    statistics: Sequence[str],
    quantiles: Sequence[float],
    thresholds: Mapping[str, Sequence[float]],
    threads: int = 1,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    template: Sequence[str | os.PathLike] = (),
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> dict[str, Path]:
    """Combine products over the members, one file of ensemble statistics per product (rules
    ``ensemble_products``, one job per lead time for every product, and ``ensemble_time_product``;
    :func:`compute_ensemble_products`).

    Parameters
    ----------
    inputs : Mapping
        ``{product: [its file of each member]}``.
    outputs : Mapping
        ``{product: file to write}``.
    statistics, quantiles : sequence
        As :func:`compute_ensemble_products`.
    thresholds : Mapping
        ``{product: [threshold, ...]}``; products not in it get no probabilities.
    threads : int
        numba threads.
    formats, grib2 : optional
        Config ``formats`` and ``grib2``: each output is written in every format (its path with each
        format's suffix); ``None``: the format of each output.
    template : sequence of path-like
        The run's GRIB files GRIB2 output takes its grid from (:func:`nwpflow.workflow.grib_template_inputs`).
    invalid_values : str
        Config ``invalid_values`` (:func:`nwpflow.open_run`).
    grid : path-like, optional
        The run's grid file (:func:`compute_ensemble_products`).
    """
    paths = {product: format_paths(output, formats) for product, output in outputs.items()}
    grib_template = grib2_template([str(p) for p in template], paths)  # once for every product
    written = {}
    with job():
        start = time.perf_counter()
        log.info("ensemble statistics %s, quantiles %s of %s", list(statistics), list(quantiles), list(outputs))
        for product, output in outputs.items():
            written[product] = Path(compute_ensemble_products(
                [str(p) for p in inputs[product]], str(output), list(statistics), list(quantiles),
                list(thresholds.get(product, [])), threads=threads, formats=formats, grib2=grib2,
                template=grib_template, invalid_values=invalid_values, grid=grid))
        log.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
        log_cache_use()
    return written


def run_time_job(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    field: str,
    kind: str,
    window: int,
    lead_times: Sequence[int],
    threads: int = 1,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    template: Sequence[str | os.PathLike] = (),
    invalid_values: str = "error",
    grid: str | os.PathLike | None = None,
) -> Path:
    """Compute one time product of one member from the field at every lead time (rule ``time_product``;
    :func:`compute_time_products`). ``window`` and ``lead_times`` in hours; ``formats``, ``grib2``,
    ``template``, ``invalid_values``, ``grid`` as :func:`run_ensemble_job` (default template: the GRIB inputs)."""
    with job():
        start = time.perf_counter()
        log.info("%s of %s over %d h windows from %d files", kind, field, window, len(inputs))
        written = compute_time_products([str(p) for p in inputs], str(output), field, kind, int(window),
                                        lead_times=[int(t) for t in lead_times], threads=threads, formats=formats,
                                        grib2=grib2, template=[str(p) for p in template] or None,
                                        invalid_values=invalid_values, grid=grid)
        log.info("wrote %s in %.1f s", written, time.perf_counter() - start)
        log_cache_use()
    return Path(written)


__all__ = ["compute_ensemble_products", "compute_time_products", "run_ensemble_job", "run_time_job"]
