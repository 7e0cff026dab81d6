"""Plotting benchmarks (issue 14): one quicklook on the ICON-CH2 domain, and the default run with and
without the plotting rules, side by side.

1. ``quicklook`` — the ICON-CH2 grid (283,876 cells, the ``icon-ch2`` sample preset's cell centres): the map
   geometry once (Delaunay triangulation and pixel map, rule ``quicklook_grid``), then per quicklook the
   read of a 3-D product file (80 levels, float32, as the pipeline writes it) and the drawing of one level
   (gather, colours, matplotlib's Agg, PNG); medians of ``--repeat`` frames.
2. ``run`` — ``snakemake`` on the default config in fresh working directories, alternately with the plotting
   rules switched off (``quicklooks``, ``meteograms``, ``run_record``) and on, each starting from the same
   copy of a numba cache (``--cache``, warmed by an earlier run), so that both pay the same warm-up.

The machine is shared: the load average is printed beside every number. Run::

    .venv/bin/python benchmarks/bench_plots.py [--parts quicklook,run] [--work DIR] [--cache DIR] [--repeat N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OFF = ("quicklooks={activate: false}", "meteograms={activate: false}", "run_record={activate: false}")


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def bench_quicklook(work: Path, repeat: int) -> None:
    import xarray as xr

    from nwpflow.io import write_netcdf
    from nwpflow.io.sample.geography import _icon_cells
    from nwpflow.plots.frames import field_frames
    from nwpflow.plots.grid import MapGeometry, cell_geometry
    from nwpflow.plots.quicklook import QuicklookCanvas

    lat, lon = _icon_cells(283_876)
    start = time.perf_counter()
    geometry = cell_geometry(lat, lon)
    built = time.perf_counter() - start
    geometry.save(work / "grid.npz")
    start = time.perf_counter()
    geometry = MapGeometry.load(work / "grid.npz")
    loaded = time.perf_counter() - start
    levels = np.arange(1, 81, dtype=np.int32)
    field = (280.0 + 10 * np.sin(np.radians(lon) * 20)[None, :] * np.cos(np.radians(lat) * 30)[None, :]
             - 0.1 * levels[:, None]).astype(np.float32)
    data = xr.DataArray(field, dims=("level", "cell"), name="THETA",
                        coords={"level": levels, "latitude": ("cell", lat), "longitude": ("cell", lon)},
                        attrs={"units": "K"})
    write_netcdf(data, work / "THETA.nc")
    start = time.perf_counter()
    canvas = QuicklookCanvas(geometry)
    figure = time.perf_counter() - start
    reads, draws = [], []
    for n in range(repeat):
        start = time.perf_counter()
        (name, frame), = field_frames(work / "THETA.nc", "THETA", product="THETA", geometry=geometry, member="member 000")
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        canvas.draw(frame, work / f"q{n}.png")
        draws.append(time.perf_counter() - start)
    print(f"ICON-CH2 quicklook (load {load()}): geometry built once {built:.2f} s ({geometry.drawing}), loaded "
          f"{loaded:.3f} s, figure {figure:.2f} s; per quicklook: read 3-D file and select a level "
          f"{statistics.median(reads):.3f} s, draw and write PNG {statistics.median(draws):.3f} s, "
          f"total {statistics.median(np.add(reads, draws)):.3f} s (median of {repeat})")


def run_once(work: Path, cache: Path, extra: tuple[str, ...]) -> float:
    shutil.copytree(cache, work / ".numba_cache")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
           "--configfile", str(ROOT / "config" / "config.yaml"), "--cores", "2", *(["--config", *extra] if extra else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return elapsed


def bench_run(work: Path, cache: Path, repeat: int) -> None:
    times = {"off": [], "on": []}
    for n in range(repeat):
        for side, extra in (("off", OFF), ("on", ())):
            before = load()
            elapsed = run_once(work / f"{side}{n}", cache, extra)
            times[side].append(elapsed)
            print(f"default run, plotting {side}: {elapsed:.1f} s (load before {before}, after {load()})", flush=True)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    print(f"default run: plotting off {off:.1f} s, on {on:.1f} s (medians of {repeat}): {on / off:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="quicklook,run")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None, help="a warmed numba cache (.numba_cache of a run)")
    parser.add_argument("--repeat", type=int, default=5, help="quicklooks drawn")
    parser.add_argument("--runs", type=int, default=1, help="runs of each side")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="nwpflow-bench-plots-"))
    work.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    if "quicklook" in parts:
        bench_quicklook(work, args.repeat)
    if "run" in parts:
        if args.cache is None:
            raise SystemExit("--cache: give the .numba_cache of an earlier default run")
        bench_run(work, args.cache, args.runs)


if __name__ == "__main__":
    main()
