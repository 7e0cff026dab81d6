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


@pytest.fixture(scope="session")
def numba_cache(tmp_path_factory) -> str:
    """One numba cache for the real runs of this session: only the first run's warm_cache compiles."""
    return str(tmp_path_factory.mktemp("numba_cache"))


SMALL = ("products=[BRN]", "bundles={catalogue: none}", "time_statistics={activate: false}")
"""--config items of a small real run: one product, one job per product, no time products."""


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
    """Without bundles every product has its rule; with the default bundle, the bundle's rule makes them."""
    from nwpflow.products import registry

    proc = snakemake(tmp_path, "--list-rules", "--config", "bundles={catalogue: none}")
    assert proc.returncode == 0, output_of(proc)
    rules = set(proc.stdout.split())
    assert {"all", "sample", "warm_cache", "ensemble_products", "ensemble_time_product", "time_product"} <= rules
    assert {name.lower() for name in registry} <= rules
    assert "bundle_catalogue" not in rules
    bundled = snakemake(tmp_path, "--list-rules", "--config", "bundles={catalogue: none, pair: [BRN, HPBL]}")
    assert bundled.returncode == 0, output_of(bundled)
    rules = set(bundled.stdout.split())
    assert "bundle_pair" in rules and "brn" not in rules and "hpbl" not in rules
    assert {name.lower() for name in registry if name not in ("BRN", "HPBL")} <= rules


def test_dry_run_builds_the_dag(tmp_path):
    """The default target: the whole catalogue (one bundle job per member and lead time of the small
    preset), the ensemble products of each lead time, the time products of each member and their
    ensemble statistics; the kernels compiled once, first."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1")
    assert proc.returncode == 0, output_of(proc)
    # time products over lead times 0..3 h: TOT_PREC 1 h and 3 h sums, VMAX_10M 3 h maximum (the 6 h and
    # 24 h windows are longer than the run)
    assert job_counts(proc.stdout) == {"sample": 1, "grid": 1, "warm_cache": 1, "bundle_catalogue": 12, "ensemble_products": 4,
                                       "time_product": 9, "ensemble_time_product": 3, "quicklook_grid": 1, "quicklooks": 4,
                                       "quicklooks_time": 1, "meteograms": 1, "run_record": 1, "all": 1, "total": 40}
    for path in ("results/sample/002/003h/BRN.nc", "logs/sample/002/003h/bundle_catalogue.log",
                 "logs/benchmarks/sample/002/003h/bundle_catalogue.tsv", "results/sample/ensemble/003h/BRN.nc",
                 "results/sample/002/time/TOT_PREC_sum_3h.nc", "results/sample/ensemble/time/VMAX_10M_max_3h.nc"):
        assert path in proc.stdout, path


def test_dry_run_one_job_per_product(tmp_path):
    """bundles={catalogue: none}: one job per product; HPBL's job has BRN's file as an input."""
    from nwpflow.products import registry

    if "HPBL" not in registry:
        pytest.skip("HPBL is not registered yet")
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1", "--config", "bundles={catalogue: none}", "products=[HPBL]",
                     "members=[0]", "lead_times=[1]")
    assert proc.returncode == 0, output_of(proc)
    assert job_counts(proc.stdout) == {"sample": 1, "grid": 1, "warm_cache": 1, "brn": 1, "hpbl": 1, "quicklook_grid": 1, "quicklooks": 1,
                                       "run_record": 1, "all": 1, "total": 9}
    hpbl = proc.stdout.split("rule hpbl:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"input: .*results/sample/000/001h/BRN\.nc", hpbl), hpbl


def test_dry_run_with_config_overrides(tmp_path):
    """--config values (read as strings by Snakemake) reach the DAG with their types."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1",
                     "--config", "members=[1]", "lead_times=[0,3]", "threads=1", "output_dir=out", "bundles={catalogue: none}",
                     "products=[BRN]", "ensemble={quantiles: [0.25, 0.75]}")
    assert proc.returncode == 0, output_of(proc)
    # one member: no ensemble; lead times 0 and 3 h: only the 3 h windows
    assert job_counts(proc.stdout) == {"sample": 1, "grid": 1, "warm_cache": 1, "brn": 2, "time_product": 2, "quicklook_grid": 1,
                                       "quicklooks": 2, "quicklooks_time": 1, "run_record": 1, "all": 1, "total": 13}
    assert "out/sample/001/003h/BRN.nc" in proc.stdout
    assert "out/sample/001/time/TOT_PREC_sum_3h.nc" in proc.stdout


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("products=[NOPE]", [r"config key 'products': unknown product 'NOPE'; allowed values: all, .*BRN"]),
        ("products=nope", [r"'nope' does not match '\^all\$'", r"\['products'\]"]),
        ("formats=[png]", [r"'png' is not one of \['netcdf', 'grib2'\]", r"\['formats'\]"]),
        ("grib2={packing: jpeg}", [r"'jpeg' is not one of \['ieee', 'simple', 'ccsds'\]", r"\['grib2'\]"]),
        ("bundles={b: [NOPE]}", [r"config key 'bundles.b': product 'NOPE' is not computed by this config; allowed "
                                 r"values: .*BRN"]),
        ("product_options={BRN: {colour: red}}", [r"config key 'product_options.BRN.colour': BRN has no option "
                                                  r"'colour'; allowed options: none"]),
        ("ensemble={statistics: [median]}", [r"'median' is not one of \['mean', 'std', 'min', 'max'\]"]),
        ("incremental=maybe", [r"'maybe' is not of type 'boolean'", r"\['incremental'\]"]),
        ("threads=0", [r"0 is less than the minimum of 1", r"\['threads'\]"]),
        ("lead_times=[-1]", [r"-1 is less than the minimum of 0", r"\['lead_times'\]"]),
        ("sample={preset: huge}", [r"config key 'sample.preset': unknown preset 'huge'; allowed values: small, "]),
        ("colour=blue", [r"config key 'colour': unknown key; allowed keys: run, sample, members, lead_times, "]),
        ("leadtimes=available", [r"config key 'leadtimes': unknown key; to target only the lead times whose input "
                                 r"files are complete, use incremental=true"]),
    ],
)
def test_bad_config_names_the_key(tmp_path, override, expected):
    """A bad value stops the workflow before any job, with a message naming the key and the allowed values."""
    proc = snakemake(tmp_path, "--dry-run", "--cores", "1", "--config", override)
    assert proc.returncode != 0
    for pattern in expected:
        assert re.search(pattern, output_of(proc)), output_of(proc)


def test_failed_job_logs_its_error(tmp_path, numba_cache):
    """A product job on a corrupt input fails; its log holds the traceback, and the terminal shows it."""
    (tmp_path / "input" / "000").mkdir(parents=True)
    (tmp_path / "input" / "lfff00000000c").write_bytes(b"GRIB" + bytes(100))
    (tmp_path / "input" / "000" / "lfff00000000").write_bytes(b"not a GRIB file")
    proc = snakemake(tmp_path, "--cores", "1", "--config", "sample={activate: false}",
                     "run={name: broken, input_dir: input}", "members=[0]", "lead_times=[0]", *SMALL,
                     f"numba_cache_dir={numba_cache}", timeout=300)
    assert proc.returncode != 0
    # the first job to read the input fails: the run's grid job (rules/grid.smk) or BRN's
    logs = [log for log in (tmp_path / "logs" / "broken").rglob("*.log") if "Traceback" in log.read_text()]
    assert logs, output_of(proc)
    text = logs[0].read_text()
    assert "lfff00000000" in text, text
    assert "\0" not in text
    assert str(logs[0].relative_to(tmp_path)) in output_of(proc)
    assert not (tmp_path / "results" / "broken" / "000" / "000h" / "BRN.nc").exists()


@pytest.mark.slow
def test_end_to_end_run(tmp_path):
    """A real run on the sample (1 member, 2 lead times) writes BRN files; rule warm_cache compiles the
    kernels into .numba_cache before them and no product job compiles; a second run has nothing to do."""
    import numpy as np
    import xarray as xr

    args = ("--cores", "2", "--config", "members=[0]", "lead_times=[0,1]", *SMALL)
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
        log = (tmp_path / "logs" / "sample" / "000" / lead / "BRN.log").read_text()
        assert re.search(r"numba kernels: [1-9]\d* loaded from the cache, 0 compiled", log), log
        assert (tmp_path / "logs" / "benchmarks" / "sample" / "000" / lead / "BRN.tsv").is_file()
    assert (tmp_path / "logs" / "sample" / "sample.log").is_file()
    assert not list((tmp_path / "results").rglob("*.tmp*")), "temporary files left behind"
    # The jobs shared one numba cache (NUMBA_CACHE_DIR from numba_cache_dir). Product jobs do not wait for
    # the warm-up (issue 10: it is a target, not an input); each kernel is compiled once, by whichever
    # process needs it first, under a lock (nwpflow.kernels._cache), so the warm-up compiled some of them.
    warm_log = (tmp_path / "logs" / "warm_cache.log").read_text()
    assert re.search(r"numba kernels: \d+ loaded from the cache, [1-9]\d* compiled and saved", warm_log), warm_log
    assert next((tmp_path / ".numba_cache").glob("nwpflow-warm-*.done"))
    assert list((tmp_path / ".numba_cache").rglob("*.nb[ic]")), "no compiled kernel in .numba_cache"

    again = snakemake(tmp_path, *args)
    assert again.returncode == 0, output_of(again)
    assert "Nothing to be done" in output_of(again), output_of(again)
