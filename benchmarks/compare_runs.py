"""Compare two output trees of nwpflow bit for bit: every file in both, the same bits in each.

The comparison is :func:`nwpflow.compare.compare_trees` (what may differ between two runs of the same code
on the same inputs is listed once, in :data:`nwpflow.provenance.VOLATILE` and
:data:`nwpflow.compare.VOLATILE_ATTRIBUTES`).

Used to prove that a refactoring changes no product file: run the default pipeline (and the unbundled
one) before and after, in two folders, then::

    .venv/bin/python benchmarks/compare_runs.py BEFORE/results AFTER/results

Exit status 0 when every file is identical, 1 otherwise (the differences are printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nwpflow.compare import compare_trees


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
