"""What every part of the study shares: sizes, the machine's description, load, timing, the STREAM triad,
the synthetic columns and the JSON record of a part."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_foundation import _triad, synthetic_columns

ROOT = Path(__file__).resolve().parents[2]
LEVELS = 80
DOMAINS = {"full": {"ICON-CH2": 283_876, "ICON-CH1": 1_147_980}, "quick": {"ICON-CH2": 1_500, "ICON-CH1": 3_000}}
"""Columns of the two domain sizes (MeteoSwiss ICON-CH2 and ICON-CH1; 80 levels each); ``quick`` is the
seconds-long smoke version's stand-in."""
TRIAD_ELEMENTS = {"full": 50_000_000, "quick": 200_000}
"""Elements of each STREAM triad array (3 x 8 bytes each): 1.2 GB in all, far beyond any cache."""


def domains(quick: bool) -> dict[str, int]:
    return DOMAINS["quick" if quick else "full"]


def cores() -> int:
    """Cores this process may run on (the affinity mask: a SLURM allocation's, not the node's)."""
    return len(os.sched_getaffinity(0))


def core_counts(limit: int | None = None) -> list[int]:
    """1, 2, 4, ... up to every core, and every core itself: the points of a strong-scaling curve."""
    n = limit or cores()
    counts = {n}
    k = 1
    while k < n:
        counts.add(k)
        k *= 2
    return sorted(counts)


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU model, cores, memory, the libraries' versions and numba's threading layer."""
    import numba

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    flags = ""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        pass
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return {"cpu": cpu_model(), "simd": simd, "cores": cores(), "memory_GiB": round(memory / 2**30, 1),
            "node": platform.node(), "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "platform": platform.platform()}


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def median_time(function, repeat: int, warmup: bool = False) -> float:
    """Median wall time of ``repeat`` calls (after one untimed call with ``warmup``)."""
    if warmup:
        function()
    return statistics.median(timed(function) for _ in range(max(1, repeat)))


def triad_bandwidth(n: int, repeat: int = 5) -> float:
    """STREAM triad ``a = b + s c`` with numba on the current numba threads [bytes/s], counted as STREAM does
    (24 bytes per element); the best of ``repeat`` runs, as STREAM reports."""
    a, b, cc = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)
    _triad(a, b, cc, 3.0)
    return 24.0 * n / min(timed(lambda: _triad(a, b, cc, 3.0)) for _ in range(repeat))


class Triad:
    """A triad to pair with each measurement: the shared machine's bandwidth changes from second to second,
    so a kernel's fraction of the triad is taken per (triad, kernel) pair run back to back."""

    def __init__(self, n: int):
        self.n = n
        self.a, self.b, self.c = np.zeros(n), np.full(n, 1.0), np.full(n, 2.0)
        _triad(self.a, self.b, self.c, 3.0)

    def __call__(self) -> float:
        return 24.0 * self.n / timed(lambda: _triad(self.a, self.b, self.c, 3.0))


def columns(ncol: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic plausible float32 columns (``benchmarks.bench_foundation.synthetic_columns``) plus PS."""
    fields = synthetic_columns(ncol, LEVELS, seed)
    fields["PS"] = (fields["P"][-1] * 1.002).astype(np.float32)
    return fields


def dataset(fields: dict[str, np.ndarray]):
    """The fields as the xarray Dataset nwpflow's products take (dims level, half_level, cell)."""
    import xarray as xr

    nlev = fields["T"].shape[0]
    data = {n: (("level", "cell"), a) for n, a in fields.items() if a.ndim == 2 and a.shape[0] == nlev}
    data["HHL"] = (("half_level", "cell"), fields["HHL"])
    data.update({n: (("cell",), a) for n, a in fields.items() if a.ndim == 1})
    return xr.Dataset(data, coords={"level": np.arange(1, nlev + 1), "half_level": np.arange(1, nlev + 2)})


def agreement(ours: np.ndarray, theirs: np.ndarray) -> dict:
    """Relative differences where both are finite and the reference is not ~0: median, 99th percentile and
    maximum, and the fraction of points finite in one but not the other."""
    ours, theirs = np.asarray(ours, np.float64).ravel(), np.asarray(theirs, np.float64).ravel()
    both = np.isfinite(ours) & np.isfinite(theirs)
    scale = np.abs(theirs[both])
    keep = scale > 1e-6 * (scale.max() if scale.size else 1.0)
    rel = np.abs(ours[both][keep] - theirs[both][keep]) / scale[keep]
    mismatch = float(np.mean(np.isfinite(ours) != np.isfinite(theirs)))
    if rel.size == 0:
        return {"median_rel": None, "p99_rel": None, "max_rel": None, "finite_mismatch": mismatch}
    return {"median_rel": float(np.median(rel)), "p99_rel": float(np.percentile(rel, 99)),
            "max_rel": float(rel.max()), "finite_mismatch": mismatch}


def part_arguments(doc: str, *, work: bool = False, extra=None) -> argparse.Namespace:
    """The command line of every part: ``--quick``, ``--json FILE`` (and ``--work DIR``; ``extra(parser)`` adds more)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smoke version's tiny sizes")
    parser.add_argument("--json", type=Path, required=True, help="the part's record")
    if work:
        parser.add_argument("--work", type=Path, required=True, help="scratch folder (samples)")
    if extra:
        extra(parser)
    return parser.parse_args()


FINISHED = "%Y-%m-%d %H:%M UTC"
"""How a part's record writes the time it finished (UTC)."""


def write_record(path: Path, part: str, results: dict, started: float, load_before: float) -> None:
    """The JSON file of one part: its results, the machine, the load before and after, the wall time and
    when it finished (the report names it: a report may gather parts of different invocations)."""
    record = {"part": part, "machine": machine(), "load_before": load_before, "load_after": load(),
              "wall_s": time.perf_counter() - started, "finished": time.strftime(FINISHED, time.gmtime()),
              "argv": sys.argv[1:], "results": results}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=float))
    tmp.replace(path)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load():.2f}] {message}", flush=True)
