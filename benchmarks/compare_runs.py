"""Compare two output trees of nwpflow bit for bit: every file in both, the same bits in each.

NetCDF files: the same dimensions, variables, dtypes, attributes and the same bytes of every variable's
data (read raw, without masking or scaling). The ``history`` attribute is compared without its time
stamps (:data:`VOLATILE`). GRIB2 and other files: the same bytes.

Used to prove that a refactoring changes no product file: run the default pipeline (and the unbundled
one) before and after, in two folders, then::

    .venv/bin/python benchmarks/compare_runs.py BEFORE/results AFTER/results

Exit status 0 when every file is identical, 1 otherwise (the differences are printed).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import netCDF4
import numpy as np

TIME_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", re.M)

VOLATILE = {"history": lambda text: TIME_STAMP.sub("", text)}
"""Global attributes that may differ between two runs of the same code on the same inputs, and how each is
made comparable: ``history`` carries the time each file was written."""


def _attributes(obj) -> dict:
    return {name: obj.getncattr(name) for name in obj.ncattrs()}


def compare_netcdf(a: Path, b: Path) -> list[str]:
    """The differences between two NetCDF files (empty: identical but for :data:`VOLATILE`)."""
    found = []
    with netCDF4.Dataset(a) as x, netCDF4.Dataset(b) as y:
        x.set_auto_maskandscale(False)
        y.set_auto_maskandscale(False)
        attrs = []
        for dataset in (x, y):
            values = _attributes(dataset)
            for name, normalise in VOLATILE.items():
                if name in values:
                    values[name] = normalise(values[name])
            attrs.append(values)
        if attrs[0] != attrs[1]:
            found.append(f"global attributes differ: {attrs[0]} != {attrs[1]}")
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


def compare_trees(a: Path, b: Path) -> dict[str, list[str]]:
    """``{relative path: differences}`` of every file that is not identical in both trees."""
    files = [{p.relative_to(root) for p in root.rglob("*") if p.is_file()} for root in (a, b)]
    result = {str(p): [f"only in {a if p in files[0] else b}"] for p in sorted(files[0] ^ files[1])}
    for path in sorted(files[0] & files[1]):
        if path.suffix == ".nc":
            found = compare_netcdf(a / path, b / path)
        else:
            found = [] if (a / path).read_bytes() == (b / path).read_bytes() else ["bytes differ"]
        if found:
            result[str(path)] = found
    result_count = len(files[0] & files[1])
    print(f"{result_count} files in both trees, {len(result)} differ or are missing on one side")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    differences = compare_trees(args.before, args.after)
    for path, found in differences.items():
        print(f"{path}: {'; '.join(found[:3])}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
