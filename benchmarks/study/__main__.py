"""Run the study and write its report: ``.venv/bin/python -m benchmarks.study [--quick] [--parts ...]``.

Each part runs in a fresh interpreter (its own imports, thread pools and numba start-up), one after the
other, and writes ``WORK/results/PART.json``; the report (``docs/study.md`` and its figures in
``docs/study/``) is rendered from those files, so ``--report-only`` re-renders without measuring. Nothing
here depends on the machine: the strong-scaling parts go from 1 to every core the process may use (its
affinity mask, e.g. a SLURM allocation), so the same command runs unchanged on a bigger node.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.study import legate_run
from benchmarks.study.common import ROOT, cores, load, log

PARTS = ["models", "legate", "peers", "roofline", "end_to_end"]


def wait_for_quiet(threshold: float, minutes: float, give_up_minutes: float, poll_s: float = 120.0) -> dict:
    """Wait until the 1-minute load average has stayed below ``threshold`` for ``minutes`` (polled every
    ``poll_s``), or ``give_up_minutes`` have passed; return what was seen."""
    start, quiet_since, seen = time.time(), None, []
    while True:
        now, current = time.time(), load()
        seen.append(current)
        quiet_since = (quiet_since or now) if current < threshold else None
        if quiet_since is not None and now - quiet_since >= minutes * 60:
            return {"quiet": True, "waited_min": (now - start) / 60, "loads": seen}
        if now - start >= give_up_minutes * 60:
            return {"quiet": False, "waited_min": (now - start) / 60, "loads": seen}
        log(f"waiting for a quiet machine (load {current:.2f}, threshold {threshold})")
        time.sleep(poll_s)


def run_part(part: str, args, env: dict) -> dict | None:
    path = args.work / "results" / f"{part}.json"
    if part == "legate":
        status = legate_run.run(args.legate_python, path, args.work, cores(), args.quick, env)
        if status["status"] != "ran":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"part": "legate", "load_before": load(), "load_after": load(),
                                        "results": None, "status": status}, indent=1))
        else:
            record = json.loads(path.read_text())
            record["status"] = status
            path.write_text(json.dumps(record, indent=1))
        return status
    command = [sys.executable, "-m", f"benchmarks.study.{part}", "--json", str(path)]
    if part in ("peers", "end_to_end"):
        command += ["--work", str(args.work)]
    if args.quick:
        command.append("--quick")
    proc = subprocess.run(command, env=env, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"study part {part} failed (exit {proc.returncode}); its output is above")
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.study", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the seconds-long smoke version (tiny sizes)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--work", type=Path, default=ROOT / ".study", help="scratch folder (samples, results)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "study.md", help="the report")
    parser.add_argument("--figures", type=Path, default=None, help="figure folder (default: OUTPUT without .md)")
    parser.add_argument("--legate-python", default=os.environ.get("NWPFLOW_LEGATE_PYTHON", sys.executable),
                        help="interpreter with legate and cupynumeric (default: this one)")
    parser.add_argument("--report-only", action="store_true", help="render the report from WORK/results")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="MINUTES",
                        help="first wait (at most MINUTES) until the load average stays below --quiet-load "
                             "for --quiet-minutes")
    parser.add_argument("--quiet-load", type=float, default=0.6)
    parser.add_argument("--quiet-minutes", type=float, default=6.0)
    args = parser.parse_args()
    args.work = args.work.resolve()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"--parts: unknown {sorted(unknown)}; allowed: {', '.join(PARTS)}")
    # numba's cache: the caller's NUMBA_CACHE_DIR, else numba's default beside the sources (what the test suite
    # and `nwpflow compute` fill too), so that the parts load the kernels other runs compiled
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if not args.report_only:
        waited = wait_for_quiet(args.quiet_load, args.quiet_minutes, args.wait_quiet) if args.wait_quiet else None
        (args.work / "results").mkdir(parents=True, exist_ok=True)
        (args.work / "results" / "run.json").write_text(json.dumps(
            {"quick": args.quick, "parts": parts, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
             "load_at_start": load(), "quiet_wait": waited}, indent=1))
        start = time.perf_counter()
        for part in parts:
            log(f"part {part}")
            run_part(part, args, env)
        run = json.loads((args.work / "results" / "run.json").read_text())
        run["wall_s"] = time.perf_counter() - start
        (args.work / "results" / "run.json").write_text(json.dumps(run, indent=1))
    from benchmarks.study import report

    figures = args.figures or args.output.with_suffix("")
    report.render(args.work / "results", args.output, figures)
    log(f"wrote {args.output} and its figures in {figures}")


if __name__ == "__main__":
    main()
