"""Compare two output trees of nwpflow bit for bit: every file in both, the same bits in each.

NetCDF files: the same dimensions, variables, dtypes, attributes and the same bytes of every variable's
data (read raw, without masking or scaling); the ``history`` attribute without its time stamps, and the
provenance record (:mod:`nwpflow.provenance`) without its :data:`~nwpflow.provenance.VOLATILE` fields
(the time, the host, the thread count, the SLURM job id): the only things that may differ. A GRIB2 file's
record beside it likewise; GRIB2 and other files: the same bytes. Everything else must be equal, so that
two files with equal records and data were computed from the same inputs by the same code.

``benchmarks/compare_runs.py`` is its command line; the bit-identity tests call :func:`compare_trees`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import netCDF4
import numpy as np

from nwpflow.provenance import ATTRIBUTE, SIDECAR_SUFFIX, comparable

TIME_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", re.M)

VOLATILE_ATTRIBUTES = {
    "history": lambda text: TIME_STAMP.sub("", text),
    ATTRIBUTE: lambda text: comparable(json.loads(text)),
}
"""Global attributes that differ between two runs of the same code on the same inputs, and how each is
made comparable: ``history`` carries the time each file was written, the provenance record its
:data:`~nwpflow.provenance.VOLATILE` fields."""


def _attributes(obj) -> dict:
    return {name: obj.getncattr(name) for name in obj.ncattrs()}


def compare_netcdf(a: Path, b: Path) -> list[str]:
    """The differences between two NetCDF files (empty: identical but for :data:`VOLATILE_ATTRIBUTES`)."""
    found = []
    with netCDF4.Dataset(a) as x, netCDF4.Dataset(b) as y:
        x.set_auto_maskandscale(False)
        y.set_auto_maskandscale(False)
        attrs = []
        for dataset in (x, y):
            values = _attributes(dataset)
            for name, normalise in VOLATILE_ATTRIBUTES.items():
                if name in values:
                    values[name] = normalise(values[name])
            attrs.append(values)
        if attrs[0] != attrs[1]:
            keys = sorted(k for k in set(attrs[0]) | set(attrs[1]) if attrs[0].get(k) != attrs[1].get(k))
            found.append(f"global attributes differ: {keys}")
        sizes = [{name: len(dim) for name, dim in d.dimensions.items()} for d in (x, y)]
        if sizes[0] != sizes[1]:
            found.append(f"dimensions differ: {sizes[0]} != {sizes[1]}")
        if set(x.variables) != set(y.variables):
            found.append(f"variables differ: {sorted(x.variables)} != {sorted(y.variables)}")
        for name in sorted(set(x.variables) & set(y.variables)):
            va, vb = x[name], y[name]
            if va.dtype != vb.dtype or va.dimensions != vb.dimensions:
                found.append(f"{name}: dtype or dims differ ({va.dtype} {va.dimensions}, {vb.dtype} {vb.dimensions})")
                continue
            if repr(_attributes(va)) != repr(_attributes(vb)):
                found.append(f"{name}: attributes differ: {_attributes(va)} != {_attributes(vb)}")
            da, db = np.asarray(va[...]), np.asarray(vb[...])
            if da.shape != db.shape or da.tobytes() != db.tobytes():
                found.append(f"{name}: data differ")
    return found


def compare_files(a: Path, b: Path) -> list[str]:
    """The differences between two files of the same name (empty: identical but for what may differ)."""
    if a.suffix == ".nc":
        return compare_netcdf(a, b)
    if a.name.endswith(SIDECAR_SUFFIX):
        records = [comparable(json.loads(p.read_text(encoding="utf-8"))) for p in (a, b)]
        return [] if records[0] == records[1] else ["provenance records differ"]
    return [] if a.read_bytes() == b.read_bytes() else ["bytes differ"]


def compare_trees(a: Path, b: Path, *, quiet: bool = False) -> dict[str, list[str]]:
    """``{relative path: differences}`` of every file that is not identical in both trees."""
    files = [{p.relative_to(root) for p in Path(root).rglob("*") if p.is_file()} for root in (a, b)]
    result = {str(p): [f"only in {a if p in files[0] else b}"] for p in sorted(files[0] ^ files[1])}
    for path in sorted(files[0] & files[1]):
        found = compare_files(Path(a) / path, Path(b) / path)
        if found:
            result[str(path)] = found
    if not quiet:
        print(f"{len(files[0] & files[1])} files in both trees, {len(result)} differ or are missing on one side")
    return result


__all__ = ["VOLATILE_ATTRIBUTES", "compare_files", "compare_netcdf", "compare_trees"]
