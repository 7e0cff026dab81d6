"""A job's outputs: its request checked before any input is read, its products written in every format, each
file with its provenance record (:mod:`nwpflow.provenance`) and, on an unstructured grid, a reference to the
run's grid file instead of the cell coordinates (:mod:`nwpflow.io.grid`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import netCDF4

from nwpflow import provenance
from nwpflow.errors import NwpflowError, OptionError
from nwpflow.io.formats import file_format
from nwpflow.io.grid import grid_reference
from nwpflow.io.writer import atomic_output, check_output_location, remove_leftovers, write_netcdf
from nwpflow.naming import format_paths
from nwpflow.products import registry


def history_of(name: str, inputs: Sequence[str | os.PathLike]) -> str:
    """The ``history`` line of a product file: the product and the names of its input files."""
    return f"{name} from {' '.join(os.path.basename(str(p)) for p in inputs)}"


def grib2_packing(grib2: Mapping[str, Any] | None) -> dict[str, Any]:
    """``packing`` and ``bits_per_value`` of :func:`~nwpflow.io.grib_writer.write_grib2` from config ``grib2``
    (whose ``bits_per_value`` is ignored with ``ieee`` packing)."""
    grib2 = dict(grib2 or {})
    packing = grib2.get("packing", "ieee")
    return {"packing": packing, "bits_per_value": None if packing == "ieee" else grib2.get("bits_per_value")}


def grib2_template(inputs, paths: Mapping[str, Mapping[str, Path]]):
    """The GRIB2 template of a job (:class:`nwpflow.io.grib_writer.GribTemplate` from ``inputs``: the run's
    GRIB files, or a template made already), or ``None`` where no output is GRIB2 (``paths``: name ->
    :func:`~nwpflow.naming.format_paths`)."""
    if not any("grib2" in p for p in paths.values()):
        return None
    from nwpflow.io.grib_writer import GribTemplate  # ecCodes' writer, only where GRIB2 is written

    return inputs if isinstance(inputs, GribTemplate) else GribTemplate.from_files(inputs)


def write_product(result, paths: Mapping[str, Path], *, history: str, template=None,
                  grib2: Mapping[str, Any] | None = None, record: Mapping[str, Any] | None = None,
                  grid: str | os.PathLike | None = None) -> Path:
    """Write one computed product in every format of ``paths`` (:func:`~nwpflow.naming.format_paths`);
    return the first file.

    ``grib2``: ``{"packing": "ieee" | "simple" | "ccsds", "bits_per_value": int}`` (config ``grib2``).
    ``record``: its provenance record (NetCDF: attribute ``nwpflow_provenance``; GRIB2: the file
    :func:`~nwpflow.provenance.sidecar_path` beside it, written after it). ``grid``: the run's grid file
    (:func:`nwpflow.io.grid.write_grid`), which a NetCDF file on ICON cells names instead of holding the
    cell coordinates.
    """
    first = None
    text = provenance.to_json(record) if record is not None else None
    for fmt, path in paths.items():
        if fmt == "grib2":
            from nwpflow.io.grib_writer import write_grib2  # only where GRIB2 is written

            written = write_grib2(result, path, template=template, **grib2_packing(grib2))
            if text is not None:
                with atomic_output(provenance.sidecar_path(path)) as temporary:
                    Path(temporary).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        else:
            written = write_netcdf(result, path, history=history,
                                   attributes={provenance.ATTRIBUTE: text} if text is not None else None,
                                   grid=grid_reference(grid, path) if grid is not None else None)
        first = first or written
    return first


def products_in_files(inputs: Sequence[str | os.PathLike]) -> set[str]:
    """Return the registered products that NetCDF files among ``inputs`` hold (nwpflow's own outputs).

    Only the variable names are read; GRIB files and other formats are skipped.
    """
    found: set[str] = set()
    for path in [p for p in inputs if file_format(p) == "netcdf"]:  # a missing file: open_run reports it
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
    ``{product: {format: file}}`` (:func:`~nwpflow.naming.format_paths`).

    Every option of every product is checked (type, range, allowed values); options of a product that is
    not requested are an error. Every output must be writable (:func:`~nwpflow.io.writer.check_output_location`);
    temporary files a killed job left for an output are removed (:func:`~nwpflow.io.writer.remove_leftovers`).

    Raises :class:`~nwpflow.errors.NwpflowError` for no product or a product without an output path, the
    registry's errors for an unknown product or option, :class:`~nwpflow.errors.OutputError` for an output
    that cannot be written, and :class:`~nwpflow.io.grib_writer.Grib2OutputError` for a GRIB2 packing that
    cannot be used.
    """
    products = list(dict.fromkeys(products))
    if not products:
        raise NwpflowError("no product requested")
    for name in products:
        registry[name].resolve_options(options.get(name, {}))
    for name in options:
        registry[name]
    unused = [name for name in options if name not in products]
    if unused:
        raise OptionError(f"options for {', '.join(unused)}, which {'is' if len(unused) == 1 else 'are'} not "
                          f"requested (requested: {', '.join(products)}): request it or drop its options")
    missing = [name for name in products if name not in outputs]
    if missing:
        raise NwpflowError(f"no output path for {', '.join(missing)}")
    paths = {name: format_paths(outputs[name], formats) for name in products}
    for path in [p for formats_paths in paths.values() for p in formats_paths.values()]:
        check_output_location(path)
        remove_leftovers(path)
    grib2_files = [p["grib2"] for p in paths.values() if "grib2" in p]
    if grib2_files:
        from nwpflow.io.grib_writer import resolve_packing  # only where GRIB2 is written

        resolve_packing(*grib2_packing(grib2).values(), grib2_files[0])
    return products, paths


__all__ = ["grib2_packing", "grib2_template", "history_of", "plan_outputs", "products_in_files", "write_product"]
