"""SLURM benchmarks (issue 11): each rule's peak memory against its ``mem_mb``, the plugin's efficiency
report, and what submitting and watching a few hundred jobs costs, one ``sbatch`` per job or job arrays.

Runs the workflow through ``profiles/slurm`` on the cluster of ``tests/slurm/start-cluster.sh`` (or any
SLURM cluster with accounting where this machine submits), each run in its own folder under ``--work``,
with ``--slurm-efficiency-report``. ``sbatch`` and ``sacct`` are wrapped by small shims first on PATH that
log every call's wall time, so the submission and status overhead is what the Snakemake process really
waited for. After each run it reads, per job:

- ``sacct``: the memory request (ReqMem), the peak resident memory of the job step that ran the rule
  (MaxRSS of step ``.0``, sampled every second by ``jobacct_gather/linux``), state, elapsed time;
- Snakemake's benchmark table of the job (``logs/benchmarks/...tsv``): ``max_rss`` (MB, psutil, sampled
  by Snakemake inside the job);
- the plugin's efficiency report (CPU efficiency, memory usage in % of the request).

Runs (``--runs``, comma-separated; each writes ``<work>/<name>/``):

- ``sample-products``: the sample (``small``: 5000 cells x 80 levels), one job per product
  (``bundles: {catalogue: none}``), members 0-2, lead times 0-1: 210 product jobs, plus the ensemble and
  time jobs; one sbatch per job.
- ``pair-products`` and ``pair-arrays``: members 0-1, lead time 0, one job per product (70 product jobs),
  one sbatch per job against ``--slurm-array-jobs=all`` (one sbatch per rule and batch of ready jobs).
- ``ch2-bundle``: the ICON-CH2 domain (sample preset ``icon-ch2``: 283,876 cells x 80 levels) in the
  default configuration (the catalogue bundled, 2 threads), members 0-1, lead times 0-1: every rule but
  the per-product ones.
- ``ch2-products``: the ICON-CH2 domain, one job per product, member 0, lead time 1.

The machine is shared; the load average is recorded beside every run. Run::

    .venv/bin/python benchmarks/bench_slurm.py --work DIR [--runs sample-products,sample-arrays] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "slurm"

COMMON = ("time_statistics={activate: true}", "threads=1")
RUNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sample-products": (("members=[0,1,2]", "lead_times=[0,1]", "bundles={catalogue: none}"), ()),
    "pair-products": (("members=[0,1]", "lead_times=[0]", "bundles={catalogue: none}"), ()),
    "pair-arrays": (("members=[0,1]", "lead_times=[0]", "bundles={catalogue: none}"), ("--slurm-array-jobs=all",)),
    "ch2-bundle": (("sample={preset: icon-ch2}", "members=[0,1]", "lead_times=[0,1]", "threads=2"), ()),
    "ch2-products": (("sample={preset: icon-ch2}", "members=[0]", "lead_times=[1]", "bundles={catalogue: none}"),
                     ()),
}
"""name -> (--config items, further snakemake options)."""

SHIM = """#!/bin/sh
# Logs the wall time of every call of {name} (benchmarks/bench_slurm.py), then passes its result on.
start=$(date +%s.%N)
{real} "$@"
status=$?
echo "$start $(date +%s.%N) $status" >>{log}
exit $status
"""


def install_shims(folder: Path) -> dict[str, Path]:
    """Write ``sbatch`` and ``sacct`` shims into ``folder`` (put first on PATH); return their call logs."""
    folder.mkdir(parents=True, exist_ok=True)
    logs = {}
    for name in ("sbatch", "sacct"):
        real = subprocess.run(["sh", "-c", f"command -v {name}"], capture_output=True, text=True,
                              check=True).stdout.strip()
        logs[name] = folder / f"{name}.calls"
        logs[name].unlink(missing_ok=True)
        shim = folder / name
        shim.write_text(SHIM.format(name=name, real=real, log=logs[name]))
        shim.chmod(0o755)
    return logs


def calls(log: Path) -> list[float]:
    """Wall times (s) of the calls a shim logged."""
    if not log.exists():
        return []
    return [float(end) - float(start) for start, end, _ in (line.split() for line in log.read_text().splitlines())]


def sacct(run_id: str, *, steps: bool) -> list[dict[str, str]]:
    fields = ("JobID", "JobIDRaw", "JobName", "State", "ReqMem", "MaxRSS", "Elapsed", "Comment", "TotalCPU")
    proc = subprocess.run(["sacct", *([] if steps else ["-X"]), "--parsable2", "--noheader", f"--name={run_id}",
                           "--starttime", "now-2days", "--format=" + ",".join(fields)],
                          capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    return [dict(zip(fields, line.split("|"), strict=True)) for line in proc.stdout.splitlines() if line]


def to_mb(value: str) -> float:
    """sacct memory (``2048K``, ``1546M``, ``2G``) in MB (MiB, as SLURM counts)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)[nc]?", value.strip())
    if not match:
        return 0.0
    number, unit = match.groups()
    return float(number) * {"K": 1 / 1024, "": 1 / 2**20, "M": 1, "G": 1024, "T": 1024**2}[unit]


def seconds(value: str) -> float:
    days, _, clock = value.rpartition("-")
    parts = [float(x) for x in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return int(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def rule_of_comment(comment: str) -> str:
    return re.fullmatch(r"rule_(\w+?)(?:_wildcards_\S+)?", comment).group(1)


def rule_of_benchmark(path: Path, benchmarks: Path) -> str:
    """The rule of a Snakemake benchmark table, from its path (nwpflow.workflow.paths' layout)."""
    parts = path.relative_to(benchmarks).parts
    stem = path.stem
    if parts[0] in ("sample", "warm_cache.tsv"):
        return parts[0].removesuffix(".tsv")
    if parts[-2] == "time":
        return "ensemble_time_product" if parts[-3] == "ensemble" else "time_product"
    if parts[-3] == "ensemble":
        return "ensemble_products"
    return stem if stem.startswith("bundle_") else stem.lower()


def measure(name: str, work: Path, numba_cache: Path, timeout: float) -> dict:
    config, options = RUNS[name]
    workdir = work / name
    workdir.mkdir(parents=True, exist_ok=True)
    logs = install_shims(work / "shims")
    env = {**os.environ, "PATH": f"{work / 'shims'}{os.pathsep}{os.environ['PATH']}"}
    report = workdir / "efficiency"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
           "--configfile", str(ROOT / "config" / "config.yaml"), "--directory", str(workdir),
           "--workflow-profile", str(PROFILE), "--slurm-efficiency-report",
           "--slurm-efficiency-report-path", str(report), *options,
           "--config", *COMMON, *config, f"numba_cache_dir={numba_cache}"]
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    (workdir / "snakemake.out").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: snakemake failed, see {workdir / 'snakemake.out'}")
    run_id = re.search(r"SLURM run ID: (\S+)", proc.stdout + proc.stderr).group(1)

    jobs = {j["JobIDRaw"]: j for j in sacct(run_id, steps=False)}
    peak: dict[str, float] = {}
    for step in sacct(run_id, steps=True):
        main = step["JobID"].split(".")[0].split("_")[0]
        if "." in step["JobID"] and not step["JobID"].endswith((".batch", ".extern")):
            peak[main] = max(peak.get(main, 0.0), to_mb(step["MaxRSS"]))
    per_rule: dict[str, dict] = {}
    for job_id, job in jobs.items():
        entry = per_rule.setdefault(rule_of_comment(job["Comment"]), {
            "jobs": 0, "states": {}, "mem_mb": [], "sacct_maxrss_mb": [], "benchmark_max_rss_mb": [],
            "elapsed_s": [], "cpu_efficiency": [], "memory_usage": []})
        entry["jobs"] += 1
        entry["states"][job["State"]] = entry["states"].get(job["State"], 0) + 1
        entry["mem_mb"].append(to_mb(job["ReqMem"]))
        entry["elapsed_s"].append(seconds(job["Elapsed"]))
        if job_id.split("_")[0] in peak:
            entry["sacct_maxrss_mb"].append(peak[job_id.split("_")[0]])
    benchmarks = workdir / "logs" / "benchmarks"
    for table in benchmarks.rglob("*.tsv"):
        with table.open() as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        rule = rule_of_benchmark(table, benchmarks)
        if rule in per_rule and row.get("max_rss", "NA") != "NA":
            per_rule[rule]["benchmark_max_rss_mb"].append(float(row["max_rss"]))
    for table in report.glob("efficiency_report_*.csv"):
        with table.open() as f:
            for row in csv.DictReader(f):
                rule = rule_of_comment(row["RuleName"]) if row.get("RuleName") else None
                if rule in per_rule:
                    per_rule[rule]["cpu_efficiency"].append(float(row["CPU Efficiency (%)"]))
                    per_rule[rule]["memory_usage"].append(float(row["Memory Usage (%)"]))
    sbatch, status = calls(logs["sbatch"]), calls(logs["sacct"])
    return {
        "run": name, "config": list(config), "options": list(options), "wall_s": wall, "jobs": len(jobs),
        "load_before": load_before, "load_after": os.getloadavg(),
        "sbatch_calls": len(sbatch), "sbatch_total_s": sum(sbatch),
        "sbatch_median_s": statistics.median(sbatch) if sbatch else None,
        "sacct_calls": len(status), "sacct_total_s": sum(status),
        "sacct_median_s": statistics.median(status) if status else None,
        "rules": per_rule,
    }


def markdown(result: dict) -> str:
    lines = [f"### {result['run']}: {result['jobs']} SLURM jobs, {result['wall_s']:.0f} s "
             f"(load {result['load_before'][0]:.1f} -> {result['load_after'][0]:.1f})", "",
             f"sbatch: {result['sbatch_calls']} calls, {result['sbatch_total_s']:.1f} s in all; sacct: "
             f"{result['sacct_calls']} calls, {result['sacct_total_s']:.1f} s in all", "",
             "| rule | jobs | states | mem_mb (first attempt) | sacct MaxRSS, max | benchmark max_rss, max | "
             "request / peak | CPU eff. median | mem. usage median |",
             "|---|---|---|---|---|---|---|---|---|"]
    for rule, e in sorted(result["rules"].items()):
        peak = max(e["sacct_maxrss_mb"] + e["benchmark_max_rss_mb"], default=0)
        first = min(e["mem_mb"])
        lines.append(
            f"| {rule} | {e['jobs']} | {', '.join(f'{k} {v}' for k, v in e['states'].items())} | {first:.0f} | "
            f"{max(e['sacct_maxrss_mb'], default=0):.0f} | {max(e['benchmark_max_rss_mb'], default=0):.0f} | "
            f"{first / peak if peak else float('nan'):.1f} | "
            f"{statistics.median(e['cpu_efficiency']) if e['cpu_efficiency'] else float('nan'):.0f} % | "
            f"{statistics.median(e['memory_usage']) if e['memory_usage'] else float('nan'):.0f} % |")
    return "\n".join(lines)


def snapshot(work: Path) -> None:
    """Make the jobs import a copy of the package in ``work/snapshot``: every SLURM job parses the workflow
    again, and an edit of the package meanwhile would change the warm-up stamp's name under it."""
    import shutil

    target = work / "snapshot"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "src" / "nwpflow", target / "nwpflow", ignore=shutil.ignore_patterns("__pycache__"))
    os.environ["PYTHONPATH"] = str(target) + os.pathsep + os.environ.get("PYTHONPATH", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs (one sub-folder each)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--numba-cache", type=Path, help="numba cache shared by the runs (default WORK/numba)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--json", type=Path, help="write every number here too")
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    cache = (args.numba_cache or args.work / "numba").resolve()
    snapshot(args.work)
    results = []
    for name in args.runs.split(","):
        result = measure(name, args.work, cache, args.timeout)
        results.append(result)
        print(markdown(result), "\n", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
