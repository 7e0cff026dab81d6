"""The workflow on a real SLURM cluster, through profiles/slurm.

The cluster is the single-node one of ``tests/slurm/start-cluster.sh`` (``.ci/run`` starts it, and
stops it at the end; by hand: ``bash tests/slurm/start-cluster.sh``). Without a cluster that answers
``sinfo`` the test skips, saying why; with ``NWPFLOW_REQUIRE_SLURM=1`` (set by ``.ci/run`` once the
cluster is up) it fails instead.

One small run (2 members x 2 lead times, BRN and HPBL as one bundle, the ensemble statistics) goes
through ``snakemake-executor-plugin-slurm`` with the project's profile, unchanged: every job is a SLURM
job (sbatch, then srun inside it), its state read with ``squeue`` (the cluster has no accounting
database). The test checks the products, that SLURM ran each job with the cpus, memory and time limit
of its rule, and that the files are the same, bit for bit, as those of the same run on this machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nwpflow.compare import compare_trees
from nwpflow.provenance import ATTRIBUTE
from test_workflow import numba_cache, output_of, snakemake  # noqa: F401 (numba_cache: the shared fixture)

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "slurm"
START = ROOT / "tests" / "slurm" / "start-cluster.sh"

MEMBERS, LEADS, PRODUCTS = (0, 1), (0, 1), ("BRN", "HPBL")
THREADS = 1
"""One cpu per job: the test cluster's node has the machine's cores, so two jobs run side by side."""

CONFIG = (
    f"members=[{','.join(map(str, MEMBERS))}]",
    f"lead_times=[{','.join(map(str, LEADS))}]",
    f"products=[{','.join(PRODUCTS)}]",
    "bundles={catalogue: none, pair: [BRN, HPBL]}",
    "time_statistics={activate: false}",
    f"threads={THREADS}",
)
"""--config items: one bundle job per member and lead time, one ensemble job per lead time."""

RULES = {"sample": 1, "bundle_pair": len(MEMBERS) * len(LEADS), "ensemble_products": len(LEADS)}
"""SLURM jobs per rule (warm_cache comes on top when the numba cache is not warm yet)."""

FAST_STATUS = ("--slurm-init-seconds-before-status-checks", "3", "--seconds-between-status-checks", "3")
"""Ask squeue every few seconds instead of the profile's 10 (the jobs here take seconds)."""


def _no_cluster_reason() -> str | None:
    """Why no SLURM cluster can run the test, or None if one answers with a usable node."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    if shutil.which("sinfo") is None:
        return f"no SLURM cluster: sinfo is not installed (start one with `bash {START.relative_to(ROOT)}`)"
    try:
        proc = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "no SLURM cluster: sinfo did not answer within 20 s"
    if proc.returncode != 0:
        error = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return f"no SLURM cluster: sinfo failed ({error}); start one with `bash {START.relative_to(ROOT)}`"
    states = proc.stdout.split()
    if not any(s.rstrip("*~#!%$@^-").lower() in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable SLURM node: sinfo reports {states or 'no node'}"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    reason = _no_cluster_reason()
    if reason is None:
        return
    if os.environ.get("NWPFLOW_REQUIRE_SLURM") == "1":
        pytest.fail(f"NWPFLOW_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


def _slurm_jobs(job_name: str) -> list[dict]:
    """The jobs slurmctld still knows (finished ones for MinJobAge) named ``job_name`` (the plugin's run
    id), as ``squeue --states=all --json`` gives them (exact memory in MB, time limit in minutes)."""
    proc = subprocess.run(["squeue", "--states=all", "--json"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [job for job in json.loads(proc.stdout)["jobs"] if job["name"] == job_name]


def _resources(slurm_log: Path) -> dict[str, str]:
    """The resources the job's rule asked for, as the Snakemake inside the job printed them."""
    text = slurm_log.read_text()
    match = re.search(r"^\s*resources: (.*)$", text, re.M)
    assert match, f"{slurm_log}: no resources line\n{text}"
    return dict(item.split("=", 1) for item in match.group(1).split(", ") if "=" in item)


def _products(results: Path) -> list[Path]:
    return sorted(p.relative_to(results) for p in results.rglob("*.nc"))


@pytest.mark.slow
def test_workflow_on_slurm(slurm_cluster, tmp_path, numba_cache):
    import numpy as np
    import xarray as xr

    on_slurm = tmp_path / "slurm"
    on_slurm.mkdir()
    proc = snakemake(on_slurm, "--workflow-profile", str(PROFILE), *FAST_STATUS,
                     "--config", *CONFIG, f"numba_cache_dir={numba_cache}", timeout=420)
    assert proc.returncode == 0, output_of(proc)

    # the products, valid NetCDF with their variables
    results = on_slurm / "results" / "sample"
    expected = sorted(
        [Path(f"{m:03d}/{lead:03d}h/{p}.nc") for m in MEMBERS for lead in LEADS for p in PRODUCTS]
        + [Path(f"ensemble/{lead:03d}h/{p}.nc") for lead in LEADS for p in PRODUCTS]
    )
    assert _products(results) == expected, output_of(proc)
    for relative in expected:
        with xr.open_dataset(results / relative) as ds:
            product = relative.stem
            names = {product} if relative.parts[0] != "ensemble" else {
                f"{product}_{s}" for s in ("mean", "std", "min", "max", "quantile")}
            assert names <= set(ds.data_vars), (relative, list(ds.data_vars))
            for name in names:
                assert ds[name].size > 0

    # every job went through SLURM: slurmctld's record of each (squeue --states=all shows finished jobs
    # for MinJobAge), COMPLETED with the cpus, memory and time limit its rule asked for, and the
    # plugin's log of each
    run_id = re.search(r"SLURM run ID: (\S+)", output_of(proc))
    assert run_id, output_of(proc)
    jobs = _slurm_jobs(run_id.group(1))
    per_rule: dict[str, int] = {}
    for job in jobs:
        rule = re.fullmatch(r"rule_(\w+?)(?:_wildcards_\S+)?", job["comment"]).group(1)
        per_rule[rule] = per_rule.get(rule, 0) + 1
        assert job["job_state"] == "COMPLETED" and job["exit_code"] == 0, job
        assert job["partition"] == "debug", job  # the profile's slurm_partition
        log = Path(job["standard_output"].replace("%j", str(job["job_id"])))
        assert log.is_file() and log.is_relative_to(on_slurm / ".snakemake" / "slurm_logs" / f"rule_{rule}"), job
        asked = _resources(log)
        assert job["memory_per_node"] == int(asked["mem_mb"]), (job, asked)
        assert job["time_limit"] == int(asked["runtime"]), (job, asked)
        assert job["cpus"] == (1 if rule == "sample" else THREADS), job  # rule sample has no `threads:`
    per_rule.pop("warm_cache", None)  # only if this session's numba cache was cold
    assert per_rule == RULES, (per_rule, jobs)
    assert set(RULES) <= {p.name.removeprefix("rule_") for p in (on_slurm / ".snakemake" / "slurm_logs").iterdir()}

    # the same run on this machine writes the same files, bit for bit
    local = tmp_path / "local"
    local.mkdir()
    here = snakemake(local, "--cores", "2", "--config", *CONFIG, f"numba_cache_dir={numba_cache}", timeout=300)
    assert here.returncode == 0, output_of(here)
    assert _products(local / "results" / "sample") == expected
    for relative in expected:
        with xr.open_dataset(results / relative) as a, xr.open_dataset(local / "results" / "sample" / relative) as b:
            a.attrs.pop("history"), b.attrs.pop("history")  # names the time the file was written
            # the provenance record names the SLURM job and the time: test_slurm_and_local_files_are_the_same
            a.attrs.pop(ATTRIBUTE), b.attrs.pop(ATTRIBUTE)
            xr.testing.assert_identical(a, b)
            for name in a.variables:
                assert np.asarray(a[name].values).tobytes() == np.asarray(b[name].values).tobytes(), (relative, name)


# ------------------------------------------------------------------------------ local vs SLURM (issue 10)


@pytest.mark.slow
def test_slurm_and_local_files_are_the_same(slurm_cluster, tmp_path, numba_cache):
    """Issue 10's bit-identity matrix, local vs SLURM: one member and lead time of BRN and HPBL through
    profiles/slurm and on this machine. Every file the same, bit for bit, and every provenance record the
    same but for its VOLATILE fields (nwpflow.compare.compare_trees, the one comparison of the matrix); the
    SLURM files name their SLURM job, the local ones none."""
    import xarray as xr

    config = ("members=[0]", "lead_times=[1]", "products=[BRN,HPBL]", "bundles={catalogue: none}",
              "time_statistics={activate: false}", "ensemble={quantiles: [0.5], thresholds: {}}", "threads=1",
              f"numba_cache_dir={numba_cache}")
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir(), local.mkdir()
    proc = snakemake(on_slurm, "--workflow-profile", str(PROFILE), *FAST_STATUS, "--config", *config, timeout=420)
    assert proc.returncode == 0, output_of(proc)
    here = snakemake(local, "--cores", "2", "--config", *config, timeout=300)
    assert here.returncode == 0, output_of(here)
    assert compare_trees(on_slurm / "results", local / "results", quiet=True) == {}
    for relative in (Path("sample/000/001h/BRN.nc"), Path("sample/000/001h/HPBL.nc")):
        jobs = []
        for root in (on_slurm, local):
            with xr.open_dataset(root / "results" / relative) as ds:
                jobs.append(json.loads(ds.attrs[ATTRIBUTE])["run"]["slurm_job_id"])
        assert jobs[0] and jobs[0].isdigit() and jobs[1] is None, (relative, jobs)

