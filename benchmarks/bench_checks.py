"""Cost of the plausibility check on decoded values (issue 9), as a fraction of the decode.

Every message the reader decodes is checked against its field's physical range
(:func:`nwpflow.io.checks.check_values`: a minimum and a maximum over the values, single values looked at
only where those fail; over the points outside the bitmap where a message has one). This benchmark writes
one lead time of the ICON-like sample on the ICON-CH1 grid (1,147,980 cells, ``--levels`` model levels,
every field of the sample), in 16-bit simple packing and in CCSDS, and times, message by message and in one
thread, ecCodes' decode into the reader's float32 buffer and the check of the decoded values, each the
median of ``--repeat`` runs. It also times the check of the same values as a field with a bitmap that
leaves out a third of the points (as a land-sea mask does), and, of that, the part every reader pays with
or without a check: setting the points the bitmap leaves out to NaN. Reported: the sums over all messages and their ratio.

Run::

    .venv/bin/python benchmarks/bench_checks.py [--levels 8] [--repeat 5] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from bench_foundation import median_time  # run as a script: benchmarks/ is on sys.path


def measure(path: Path, repeat: int) -> dict:
    """Decode and check times (s) of every message of ``path``, summed over the messages."""
    from nwpflow.io.checks import check_values
    from nwpflow.io.eccodes_env import eccodes
    from nwpflow.io.grib import _get_float_array_into

    decode = check = check_bitmap = to_nan = 0.0
    messages = points = 0
    with open(path, "rb") as file:
        while (handle := eccodes.codes_grib_new_from_file(file)) is not None:
            try:
                name = eccodes.codes_get_string(handle, "shortName")
                out = np.empty(eccodes.codes_get_size(handle, "values"), dtype=np.float32)
                decode += median_time(lambda: _get_float_array_into(handle, out), repeat)
                check += median_time(lambda: check_values(out, name, path=str(path), where="message"), repeat)
                bitmap = np.zeros(out.shape, dtype=bool)
                bitmap[: out.size // 3] = True  # a third of the points missing, in one run (as land or sea)
                check_bitmap += median_time(
                    lambda: check_values(out, name, path=str(path), where="message", missing=bitmap), repeat)
                to_nan += median_time(lambda: np.copyto(out, np.float32(np.nan), where=bitmap), repeat)
                messages += 1
                points += out.size
            finally:
                eccodes.codes_release(handle)
    return {"messages": messages, "points": points, "decode_s": decode, "check_s": check,
            "check_bitmap_s": check_bitmap, "bitmap_to_nan_s": to_nan, "check_fraction": check / decode,
            "check_bitmap_fraction": check_bitmap / decode, "bitmap_to_nan_fraction": to_nan / decode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=8, help="model levels of the sample (default 8)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per message and step (median)")
    parser.add_argument("--work", type=Path, help="folder for the sample files (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    from nwpflow.io.sample import PRESETS, write_sample

    preset = dataclasses.replace(PRESETS["icon-ch1"], nlev=args.levels)
    results = {"load_average": os.getloadavg(), "levels": args.levels, "cells": preset.grid.ncells}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        for packing in ("grid_simple", "grid_ccsds"):
            written = write_sample(work / packing, preset, members=[0], lead_times=[1], packing=packing)
            path = next(p for p in written if p.name == "lfff00010000")
            results[packing] = measure(path, args.repeat)
            row = results[packing]
            print(f"{packing}: {row['messages']} messages, {row['points']:,} values: decode {row['decode_s']:.3f} s, "
                  f"check {row['check_s']:.4f} s ({100 * row['check_fraction']:.1f} %), with a bitmap "
                  f"{row['check_bitmap_s']:.4f} s ({100 * row['check_bitmap_fraction']:.1f} %), of which setting the "
                  f"missing points to NaN {row['bitmap_to_nan_s']:.4f} s ({100 * row['bitmap_to_nan_fraction']:.1f} %)")
    results["load_average_after"] = os.getloadavg()
    print(f"load average before {results['load_average']}, after {results['load_average_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
