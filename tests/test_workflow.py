"""The Snakemake workflow as a user runs it: lint, dry run, config errors and one real run.

Each test runs ``snakemake`` in a subprocess on the project's Snakefile with a temporary working
directory, so nothing lands in the project tree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run snakemake on the project's workflow with ``workdir`` as working directory."""
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir),
        # configfile: "config/config.yaml" is looked up in the working directory.
        "--configfile", str(ROOT / "config" / "config.yaml"),
        *args,
    ]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)


def output_of(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def job_counts(text: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run, as {rule: count}."""
    table = text.split("Job stats:", 1)[1]
    return {m["rule"]: int(m["count"]) for m in re.finditer(r"^(?P<rule>\w+)\s+(?P<count>\d+)$", table, re.M)}


def test_lint_is_clean(tmp_path):
    """snakemake --lint finds nothing to complain about."""
    proc = snakemake(tmp_path, "--lint")
    assert proc.returncode == 0, output_of(proc)  # exit 1 when it prints lints
    assert "Lints for" not in output_of(proc), output_of(proc)
    assert "Congratulations, your workflow is in a good condition!" in output_of(proc)


def test_list_rules_one_rule_per_product(tmp_path):
    from nwpflow.products import registry

    proc = snakemake(tmp_path, "--list-rules", "--config", f"products=[{','.join(registry)}]")
    assert proc.returncode == 0, output_of(proc)
    rules = set(proc.stdout.split())
    assert {"all", "sample"} <= rules
    assert {name.lower() for name in registry} <= rules


def test_dry_run_builds_the_dag(tmp_path):
    """The default target: the sample, then BRN for every member and lead time of the small preset."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1")
    assert proc.returncode == 0, output_of(proc)
    assert job_counts(proc.stdout) == {"sample": 1, "brn": 12, "all": 1, "total": 14}
    assert "results/sample/002/003h/BRN.nc" in proc.stdout
    assert "logs/sample/002/003h/BRN.log" in proc.stdout
    assert "logs/benchmarks/sample/002/003h/BRN.tsv" in proc.stdout


def test_dry_run_with_config_overrides(tmp_path):
    """--config values (read as strings by Snakemake) reach the DAG with their types."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1",
                     "--config", "members=[1]", "lead_times=[0,3]", "threads=1", "output_dir=out")
    assert proc.returncode == 0, output_of(proc)
    assert job_counts(proc.stdout) == {"sample": 1, "brn": 2, "all": 1, "total": 4}
    assert "out/sample/001/003h/BRN.nc" in proc.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("products=[NOPE]", [r"'NOPE' is not one of \['BRN'\]", r"\['products'\]"]),
        ("threads=0", [r"0 is less than the minimum of 1", r"\['threads'\]"]),
        ("lead_times=[-1]", [r"-1 is less than the minimum of 0", r"\['lead_times'\]"]),
        ("sample={preset: huge}", [r"config key 'sample.preset': unknown preset 'huge'; allowed values: small, "]),
        ("colour=blue", [r"Additional properties are not allowed \('colour' was unexpected\)"]),
    ],
)
def test_bad_config_names_the_key(tmp_path, override, expected):
    """A bad value stops the workflow before any job, with a message naming the key and the allowed values."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1", "--config", override)
    assert proc.returncode != 0
    for pattern in expected:
        assert re.search(pattern, output_of(proc)), output_of(proc)


def test_failed_job_logs_its_error(tmp_path):
    """A product job on a corrupt input fails; its log holds the traceback, and the terminal shows it."""
    (tmp_path / "input" / "000").mkdir(parents=True)
    (tmp_path / "input" / "lfff00000000c").write_bytes(b"GRIB" + bytes(100))
    (tmp_path / "input" / "000" / "lfff00000000").write_bytes(b"not a GRIB file")
    proc = snakemake(tmp_path, "--cores", "1", "--config", "sample={activate: false}",
                     "run={name: broken, input_dir: input}", "members=[0]", "lead_times=[0]")
    assert proc.returncode != 0
    log = tmp_path / "logs" / "broken" / "000" / "000h" / "BRN.log"
    text = log.read_text()
    assert "Traceback" in text and "lfff00000000" in text, text
    assert "\0" not in text
    assert "logs/broken/000/000h/BRN.log" in output_of(proc)
    assert not (tmp_path / "results" / "broken" / "000" / "000h" / "BRN.nc").exists()


@pytest.mark.slow
def test_end_to_end_run(tmp_path):
    """A real run on the sample (1 member, 2 lead times) writes BRN files; a second run has nothing to do."""
    import numpy as np
    import xarray as xr

    args = ("--cores", "2", "--config", "members=[0]", "lead_times=[0,1]")
    proc = snakemake(tmp_path, *args, timeout=600)
    assert proc.returncode == 0, output_of(proc)

    for lead in ("000h", "001h"):
        path = tmp_path / "results" / "sample" / "000" / lead / "BRN.nc"
        assert path.is_file(), output_of(proc)
        with xr.open_dataset(path) as ds:
            assert "BRN" in ds.data_vars
            values = ds["BRN"].values
        assert values.size > 0
        assert np.isfinite(values).all(), f"{path}: BRN has non-finite values"
        assert (tmp_path / "logs" / "sample" / "000" / lead / "BRN.log").is_file()
        assert (tmp_path / "logs" / "benchmarks" / "sample" / "000" / lead / "BRN.tsv").is_file()
    assert (tmp_path / "logs" / "sample" / "sample.log").is_file()
    assert not list((tmp_path / "results").rglob("*.tmp*")), "temporary files left behind"
    # The jobs shared one numba cache (NUMBA_CACHE_DIR from numba_cache_dir).
    assert list((tmp_path / ".numba_cache").rglob("*.nbi")), "no compiled kernel in .numba_cache"

    again = snakemake(tmp_path, *args)
    assert again.returncode == 0, output_of(again)
    assert "Nothing to be done" in output_of(again), output_of(again)
