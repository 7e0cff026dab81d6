"""The fault matrix of issue 9, on real Snakemake runs: every case ends in a clear error or in complete,
correct outputs, and no run exits 0 with a requested product missing.

Each test runs ``snakemake`` on the project's workflow in a temporary working directory, on a model run
written there by the sample writer (``sample: {activate: false}``: the workflow reads it as it would read
real model output) and damaged the way the case describes. The reader's own cases (the CLI and the Python
API) are in tests/test_bad_input.py, the fuzzer in tests/test_fuzz.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_bad_input import cut_at_message, edited, named
from test_workflow import ROOT, output_of, snakemake

MODEL = ("sample={activate: false}", "run={name: live, input_dir: model}")
"""--config items of a run read from ./model, as real model output."""

ONE_JOB = ("members=[0]", "lead_times=[1]", "bundles={catalogue: none}", "time_statistics={activate: false}",
           "quicklooks={activate: false}", "meteograms={activate: false}", "run_record={activate: false}")
"""--config items of one member, one lead time, one job per product, no time products, no plots (their rules
are tested in tests/test_report.py)."""


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("numba_cache"))


def write_model(directory: Path, members=(0,), lead_times=(1,)) -> Path:
    from nwpflow.io.sample import write_sample

    write_sample(directory / "model", "small", members=list(members), lead_times=list(lead_times))
    return directory / "model"


def job_log(directory: Path, product: str, member: str = "000", lead: str = "001") -> str:
    return (directory / "logs" / "live" / member / f"{lead}h" / f"{product}.log").read_text()



def assert_one_line_first(log: str, pattern: str) -> str:
    """The log's failure starts with the one line the CLI would print, before any traceback."""
    lines = [line for line in log.splitlines() if line.startswith("nwpflow: error: ")]
    assert len(lines) == 1, log
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in log or log.index(lines[0]) < log.index("Traceback"), log
    return lines[0]


def test_model_file_cut_at_a_message_boundary_fails_the_run(tmp_path, numba_cache):
    """Case 2: a model file cut exactly between two messages (half of T's levels written) is refused by the
    job; Snakemake exits non-zero; the job's log and the terminal give the one line; no product file."""
    model = write_model(tmp_path)
    cut_at_message(model / "000" / "lfff00010000", model / "000" / "lfff00010000", 120)  # P 1-80, T 1-40
    proc = snakemake(tmp_path, "--cores", "2", "--config", *MODEL, *ONE_JOB, "products=[THETA]",
                     f"numba_cache_dir={numba_cache}", timeout=600)
    assert proc.returncode != 0, output_of(proc)
    line = assert_one_line_first(job_log(tmp_path, "THETA"), r"^nwpflow: error: file 'model/000/lfff00010000', "
                                 r"field 'T': has 40 of its 80 levels .*missing levels 41-80")
    assert line in output_of(proc)  # on the terminal too, beside Snakemake's "Error in rule"
    assert not (tmp_path / "results" / "live" / "000" / "001h" / "THETA.nc").exists()


def test_a_mislabelled_member_fails_the_job(tmp_path, numba_cache):
    """The job of member 0 given member 1's file (copied into member 0's place) refuses it: the request names
    the member and lead time its inputs must hold."""
    model = write_model(tmp_path, members=(1,))
    (model / "000").mkdir()
    (model / "000" / "lfff00010000").write_bytes((model / "001" / "lfff00010000").read_bytes())
    proc = snakemake(tmp_path, "--cores", "2", "--config", *MODEL, *ONE_JOB, "products=[THETA]",
                     f"numba_cache_dir={numba_cache}", timeout=600)
    assert proc.returncode != 0
    assert_one_line_first(job_log(tmp_path, "THETA"), r"member 0 not in .*'model/000/lfff00010000'.* \(they hold "
                                                      r"member 1\)")


def test_incremental_run_of_a_missing_input_folder_fails(tmp_path):
    """Case 3: incremental=true with an input folder that does not exist exited 0 and said nothing."""
    proc = snakemake(tmp_path, "--cores", "1", "--config", "sample={activate: false}",
                     "run={name: live, input_dir: no/such/folder}", "incremental=true", *ONE_JOB, "products=[BRN]")
    assert proc.returncode != 0
    assert "config key 'run.input_dir': 'no/such/folder' is not a folder" in output_of(proc), output_of(proc)
    assert not (tmp_path / "logs").exists()


def test_incremental_waits_for_a_file_cut_at_a_message_boundary(tmp_path, numba_cache):
    """A file the model is still writing, cut exactly between two messages, looks whole to the GRIB structure
    check; the completion marker (``run.ready_pattern``) and the file's age (``run.min_age_s``) keep
    ``incremental`` from computing it, and without either the job refuses it (case 2). Once complete, it is
    computed."""
    model = write_model(tmp_path, lead_times=(0, 1))
    writing = model / "000" / "lfff00010000"
    whole = writing.read_bytes()
    cut_at_message(writing, writing, 120)  # P on levels 1-80, T on 1-40
    (model / "000" / "lfff00000000.ready").touch()
    args = ("--cores", "2", "--config", "sample={activate: false}", "members=[0]", "lead_times=[0,1]",
            "bundles={catalogue: none}", "time_statistics={activate: false}", "products=[THETA]", "incremental=true",
            f"numba_cache_dir={numba_cache}")
    out = tmp_path / "results" / "live" / "000"
    marker = 'run={name: live, input_dir: model, ready_pattern: "{member:03d}/lfff{ddhh}0000.ready"}'
    first = snakemake(tmp_path, *args, marker, timeout=600)
    assert first.returncode == 0, output_of(first)
    assert (out / "000h" / "THETA.nc").is_file() and not (out / "001h").exists()
    assert "1 of 2 member/lead time pairs have complete inputs" in output_of(first)

    young = snakemake(tmp_path, *args, "run={name: live, input_dir: model, min_age_s: 3600}", timeout=600)
    assert young.returncode == 0 and not (out / "001h").exists(), output_of(young)
    assert "0 of 2 member/lead time pairs have complete inputs" in output_of(young)

    unguarded = snakemake(tmp_path, *args, "run={name: live, input_dir: model}", timeout=600)
    assert unguarded.returncode != 0, output_of(unguarded)
    assert_one_line_first(job_log(tmp_path, "THETA"), r"field 'T': has 40 of its 80 levels .*missing levels 41-80: "
                                                      r"the file is truncated, or the model is still writing it")
    assert not (out / "001h" / "THETA.nc").exists()

    writing.write_bytes(whole)
    (model / "000" / "lfff00010000.ready").touch()
    done = snakemake(tmp_path, *args, marker, timeout=600)
    assert done.returncode == 0, output_of(done)
    assert (out / "001h" / "THETA.nc").is_file()


@pytest.mark.parametrize(("override", "message"), [
    ("product_options={T_PL: {levels: [85000, 1e20]}}", r"config key 'product_options.T_PL.levels': product 'T_PL': "
                                                        r"option 'levels' \(target pressures \[Pa\]\) must be finite "
                                                        r"numbers from 0 to 120000, not \(85000, 1e\+20\)"),
    ("product_options={T_PL: {levels: [abc]}}", r"must be a non-empty list of numbers, not \('abc',\)"),
    ("product_options={CAPE_ML: {depth: 5000}}", r"config key 'product_options.CAPE_ML': CAPE_ML is not computed by "
                                                 r"this config \(products: THETA, T_PL\): add it to `products` or "
                                                 r"remove its options"),
    ("output_dir=blocker/results", r"config key 'output_dir': 'blocker' is a file, not a folder: remove it or choose "
                                   r"another output folder"),
])
def test_bad_options_and_outputs_stop_the_run_before_any_job(tmp_path, override, message):
    """Case 5 (options checked late or not at all) and case 4 (an output folder that is a file): the config
    check stops the run before any job, naming the key."""
    (tmp_path / "blocker").write_text("a file")
    proc = snakemake(tmp_path, "--cores", "1", "--config", *ONE_JOB, "products=[THETA, T_PL]", override)
    assert proc.returncode != 0
    assert re.search(message, output_of(proc)), output_of(proc)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "results").exists()


def test_full_disk_fails_the_job_in_one_line(tmp_path, numba_cache):
    """Case 4 in a job: products written to a real tmpfs too small for them fail with one line naming the
    file and the full disk (the NetCDF library says only "HDF error"), and leave no file behind."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    write_model(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        proc = snakemake(tmp_path, "--cores", "2", "--config", *MODEL, *ONE_JOB, "products=[THETA]",
                         f"output_dir={disk}", f"numba_cache_dir={numba_cache}", timeout=600)
        assert proc.returncode != 0, output_of(proc)
        # the run's grid file goes to the same disk: its job may be the first to find it full
        logs = [tmp_path / "logs" / "live" / "000" / "001h" / "THETA.log", tmp_path / "logs" / "live" / "grid.log"]
        failed = [log.read_text() for log in logs if log.exists() and "nwpflow: error:" in log.read_text()]
        assert failed, output_of(proc)
        for log in failed:
            assert_one_line_first(log, rf"^nwpflow: error: output '{disk}/live/(000/001h/THETA|grid)\.nc':"
                                       r" no space left on the device")
        # no THETA file and no temporary file (the grid job's complete files may be there, and the content
        # identity's recipes in .identity/, which Snakemake's parse writes)
        assert [p for p in disk.rglob("*") if p.is_file() and ".identity" not in p.parts
                and ("THETA" in p.name or p.suffix == ".tmp")] == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_implausible_input_values_fail_the_job_or_are_masked(tmp_path, numba_cache):
    """Case 6 in a job: infinite temperatures (inf in THETA, NaN in CAPE) stop the job with one line naming
    the file, message, field, count and range; ``invalid_values: missing`` computes the product with those
    points missing."""
    import xarray as xr

    from nwpflow.io.eccodes_env import eccodes

    model = write_model(tmp_path)
    path = model / "000" / "lfff00010000"

    def poison(handle):
        values = eccodes.codes_get_double_array(handle, "values")
        values[[3, 4]] = [np.inf, -np.inf]
        eccodes.codes_set_string(handle, "packingType", "grid_ieee")
        eccodes.codes_set_double_array(handle, "values", values)

    edited(path, tmp_path / "poisoned", poison, which=lambda h: named("T")(h) and eccodes.codes_get_long(h, "level") == 80)
    (tmp_path / "poisoned").replace(path)
    args = ("--cores", "2", "--config", *MODEL, *ONE_JOB, "products=[THETA]", f"numba_cache_dir={numba_cache}")
    proc = snakemake(tmp_path, *args, timeout=600)
    assert proc.returncode != 0
    assert_one_line_first(job_log(tmp_path, "THETA"), r"field 'T': message \d+: 2 of 5000 values outside its range "
                                                      r"100 to 350 K \(2 not finite\)")
    masked = snakemake(tmp_path, *args, "invalid_values=missing", timeout=600)
    assert masked.returncode == 0, output_of(masked)
    with xr.open_dataset(tmp_path / "results" / "live" / "000" / "001h" / "THETA.nc") as ds:
        theta = ds["THETA"].values
    assert np.isnan(theta[79, [3, 4]]).all() and np.isnan(theta).sum() == 2


def test_killed_run_recovers_as_the_readme_says(tmp_path, numba_cache):
    """Case 8: SIGKILL of the whole run while a job writes its files leaves a hidden temporary file and
    Snakemake's lock. The re-run fails with Snakemake's LockException; after ``--unlock``, a re-run with
    ``--rerun-incomplete`` (README, Troubleshooting) completes and removes the leftover."""
    write_model(tmp_path)
    products = "products=[THETA, THETA_V, THETA_E, TD, RELHUM]"  # one bundle job writing five files
    args = ["--cores", "2", "--config", *MODEL, "members=[0]", "lead_times=[1]", "time_statistics={activate: false}",
            products, f"numba_cache_dir={numba_cache}"]
    warm = snakemake(tmp_path, *args, "--until", "warm_cache", timeout=600)
    assert warm.returncode == 0, output_of(warm)
    out = tmp_path / "results" / "live" / "000" / "001h"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(ROOT / "config" / "config.yaml"), *args]
    run = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    caught, deadline = [], time.monotonic() + 300
    while not caught and run.poll() is None and time.monotonic() < deadline:
        caught = [p for p in out.glob(".*.tmp")] if out.is_dir() else []
        time.sleep(0.0005)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    if not caught:
        pytest.skip("the job finished its writes between two looks for a temporary file; nothing was killed mid-write")
    assert any((tmp_path / ".snakemake" / "locks").iterdir())

    locked = snakemake(tmp_path, *args, timeout=600)
    assert locked.returncode != 0 and "LockException" in output_of(locked), output_of(locked)
    assert snakemake(tmp_path, "--unlock", *args).returncode == 0
    again = snakemake(tmp_path, *args, "--rerun-incomplete", timeout=600)
    assert again.returncode == 0, output_of(again)
    assert sorted(p.name for p in out.iterdir()) == ["RELHUM.nc", "TD.nc", "THETA.nc", "THETA_E.nc", "THETA_V.nc"]
