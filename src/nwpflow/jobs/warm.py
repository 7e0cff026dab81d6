"""The warm-up job (rule ``warm_cache``): compile every kernel into numba's on-disk cache, once."""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from nwpflow.io.sample import PRESETS, IconGrid, write_sample
from nwpflow.jobs.compute import compute_products
from nwpflow.jobs.fanin import compute_ensemble_products, compute_time_products
from nwpflow.jobs.frame import job, log_cache_use, setup_logging
from nwpflow.kernels import _cache
from nwpflow.naming import CONSTANTS_FILE, model_file_name
from nwpflow.products import registry, required_products

log = logging.getLogger("nwpflow")

WARM_PRESETS = ("small", "cosmo-small")
"""Grids rule ``warm_cache`` compiles the kernels for: ICON cells, and COSMO's rotated grid with its
staggered winds (a kernel of its own)."""


def warm_groups(products: list[str], n: int) -> list[list[str]]:
    """Split ``products`` into at most ``n`` groups that compile different kernels: the products of one
    module together (they share kernels), a product with the products it requires, the largest first."""
    units: dict[str, list[str]] = {}
    for product in products:  # requirements come first (required_products)
        module = registry[product].function.__module__
        home = next((units[k] for k in units if set(registry[product].requires) & set(units[k])), None)
        (home if home is not None else units.setdefault(module, [])).append(product)
    groups: list[list[str]] = [[] for _ in range(max(1, min(n, len(units))))]
    for unit in sorted(units.values(), key=len, reverse=True):
        min(groups, key=len).extend(unit)
    return [g for g in groups if g]


_WORKER = """
import pickle, sys
from nwpflow.jobs.warm import warm
with open(sys.argv[1], "rb") as f:
    args = pickle.load(f)
result = warm(*args)
with open(sys.argv[2], "wb") as f:
    pickle.dump(result, f)
"""


def _warm_in_processes(tasks: list[tuple], folder: Path) -> list:
    """Run :func:`warm` ``(*task)`` for each task in its own Python process, all at once; return the
    results in order. The processes inherit the environment and file descriptor 2 (the job's log)."""
    procs = []
    for i, task in enumerate(tasks):
        args, result = folder / f"task{i}.pickle", folder / f"result{i}.pickle"
        with open(args, "wb") as f:
            pickle.dump(task, f)
        procs.append((subprocess.Popen([sys.executable, "-c", _WORKER, str(args), str(result)]), result))
    failed = [i for i, (proc, _) in enumerate(procs) if proc.wait() != 0]
    if failed:
        raise RuntimeError(f"warm-up processes {failed} failed (their tracebacks are in this log)")
    results = []
    for _, result in procs:
        with open(result, "rb") as f:
            results.append(pickle.load(f))
    return results


def _write_warm_samples(folder: Path) -> dict[str, str]:
    """Write a tiny sample of each grid kind of :data:`WARM_PRESETS` (two members, lead times 0 and 1)."""
    folders = {}
    for name in WARM_PRESETS:
        preset = PRESETS[name]
        grid = IconGrid(ncells=64) if isinstance(preset.grid, IconGrid) else dataclasses.replace(preset.grid, nx=8, ny=6)
        write_sample(folder / name, dataclasses.replace(preset, grid=grid), members=[0, 1], lead_times=[0, 1])
        folders[name] = str(folder / name)
    return folders


def warm(products: list[str], folders: dict[str, str], options: Mapping | None, ensemble: bool,
         kinds: list[str], threads: int) -> dict:
    """Compute ``products`` (and the fan-in statistics) on the tiny samples; return what failed and the
    cache counts. Runs in the warm job's process or in one it spawned."""
    if not logging.getLogger().handlers:  # a spawned process: log to the job's log like the job
        setup_logging()
    failed = []

    def attempt(what: str, function, *args, **kwargs):
        # A warm-up must not stop the workflow: what fails here is logged, and the job that needs it
        # compiles it (once, safely) or reports the error where it belongs.
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            log.warning("warm-up of %s failed: %s: %s", what, type(error).__name__, error)
            failed.append(what)
            return None

    for preset_name, directory in folders.items():
        folder = Path(directory)
        files = {m: [str(folder / model_file_name(m, 1)), str(folder / CONSTANTS_FILE)] for m in (0, 1)}
        written: dict = {}
        for product in products:  # one by one, so that one failure costs only its own warm-up
            done = attempt(f"{product} on {preset_name}", compute_products, [product],
                           files[0] + [str(written[r]) for r in registry[product].requires if r in written],
                           output_dir=folder / f"out-{product}", options=options, threads=threads)
            if done:
                written.update(done)
        if ensemble and written:
            first = next(iter(written))
            other = attempt(f"{first} of member 1 on {preset_name}", compute_products, [first], files[1],
                            output_dir=folder / "out-member1", options=options, threads=threads)
            if other:
                attempt(f"ensemble statistics on {preset_name}", compute_ensemble_products,
                        [written[first], other[first]], folder / "ensemble.nc", quantiles=[0.5], thresholds=[0.0],
                        threads=threads)
        if kinds:
            leads = [folder / model_file_name(0, lead) for lead in (0, 1)]
            for kind in kinds:  # the kernels take the same arrays whatever the field
                field = "TOT_PREC" if kind == "accumulation" else "T_2M"
                attempt(f"{kind} time products on {preset_name}", compute_time_products, leads,
                        folder / f"time-{kind}.nc", field, kind, 1, lead_times=[0, 1], threads=threads)
    return {"failed": failed, "counts": dict(_cache.counts)}


def run_warm_job(
    stamp: str | os.PathLike,
    *,
    products: Sequence[str],
    options: Mapping[str, Mapping] | None = None,
    ensemble: bool = True,
    time_products: Mapping[str, tuple[str, str, int]] | None = None,
    threads: int = 1,
) -> Path:
    """Compile every kernel the workflow's jobs use into numba's on-disk cache, then write ``stamp``.

    Rule ``warm_cache`` runs this once, before any product job (every product, bundle, ensemble and
    time rule has the stamp as an input), so that no later job compiles: each only loads. It computes
    every product on a tiny sample of each grid kind (:data:`WARM_PRESETS`, a few dozen cells, so the
    kernels see the same argument types as on the real domain), and the ensemble and time statistics
    on those, in a temporary folder.

    Parameters
    ----------
    stamp : path-like
        File to write when done (:func:`nwpflow.workflow.warm_stamp`).
    products : sequence of str
        Products to compute (with the products they require).
    options : Mapping, optional
        ``{product: {option: value}}``, as the jobs use them.
    ensemble : bool
        Also run the ensemble statistics.
    time_products : Mapping, optional
        ``{name: (field, kind, window)}`` (:func:`nwpflow.workflow.time_products`); one of each kind is run.
    threads : int
        Cores: with more than one, the products are split into that many groups of different kernels
        (:func:`warm_groups`), compiled side by side in spawned processes with one numba thread each.
    """
    with job():
        start = time.perf_counter()
        log.info("warming numba's cache %s for %s", os.environ.get("NUMBA_CACHE_DIR"), list(products))
        wanted = required_products(list(products))
        kinds = sorted({kind for _, kind, _ in (time_products or {}).values()})
        groups = warm_groups(wanted, max(1, int(threads)))
        with tempfile.TemporaryDirectory(prefix="nwpflow-warm-") as tmp:
            folders = _write_warm_samples(Path(tmp))
            tasks = [(group, folders, options, ensemble and i == 0, kinds if i == 0 else [],
                      threads if len(groups) == 1 else 1) for i, group in enumerate(groups)]
            if len(tasks) == 1:
                results = [warm(*tasks[0])]
            else:
                # One process per group, each with one numba thread: numba compiles on one core, so the
                # groups compile side by side (their saves are serialised by nwpflow.kernels._cache).
                # Fresh interpreters (not multiprocessing: it would fork numba's and OpenMP's threads,
                # or, spawning, re-run the Snakemake script that called this); they log to this job's log.
                log.info("compiling in %d processes: %s", len(tasks), [list(g) for g in groups])
                results = _warm_in_processes(tasks, Path(tmp))
        failed = [what for result in results for what in result["failed"]]
        if len(results) > 1:  # the spawned processes compiled; this one only counts
            for result in results:
                _cache.counts.update(result["counts"])
        stamp = Path(stamp)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"numba cache warmed for {', '.join(wanted)} in {time.perf_counter() - start:.1f} s\n"
                         + (f"not warmed (see logs/warm_cache.log): {', '.join(failed)}\n" if failed else ""))
        log.info("warmed in %.1f s%s", time.perf_counter() - start,
                 f"; {len(failed)} warm-ups failed: {', '.join(failed)}" if failed else "")
        log_cache_use()
    return stamp


__all__ = ["WARM_PRESETS", "run_warm_job", "warm", "warm_groups"]
