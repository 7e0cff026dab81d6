"""numba's shared on-disk cache under concurrent jobs (nwpflow.kernels._cache).

numba writes every cache file atomically (temporary name, then os.replace), but adds an entry to a
function's index by read-modify-write: processes compiling different signatures of one kernel at the
same time can lose entries, or map one signature to another's data file. nwpflow serialises the saves
with a lock. These tests start several processes at once on a cold cache and check that every entry
survives and that a later process compiles nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

KERNEL = '''
from numba import prange

from nwpflow.kernels._jit import kernel


@kernel
def scale(a, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * 3
'''

DRIVER = '''
import json, os, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from nwpflow.kernels import _cache
import racekernel
go = sys.argv[2]
while not os.path.exists(go):  # start together
    time.sleep(0.01)
results = {}
for dtype in sys.argv[3:]:
    a = np.arange(10).astype(dtype)
    out = np.empty_like(a)
    racekernel.scale(a, out)
    results[dtype] = out.tolist()
print(json.dumps({"results": results, "counts": dict(_cache.counts)}))
'''

DTYPES = ["float32", "float64", "int32", "int64", "int16", "uint16"]


def _start(module_dir: Path, cache: Path, go: Path, dtypes: list[str]) -> subprocess.Popen:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(module_dir), str(go), *dtypes], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    import json

    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_concurrent_compiles_of_different_signatures_keep_every_entry(tmp_path):
    """Six processes compile six signatures of one kernel at the same moment into a cold cache; a seventh
    then finds all six in the cache (loads 6, compiles 0) and they compute the right thing."""
    (tmp_path / "racekernel.py").write_text(KERNEL)
    cache, go = tmp_path / "cache", tmp_path / "go"
    procs = [_start(tmp_path, cache, go, [dtype]) for dtype in DTYPES]
    time.sleep(2.0)  # let them import; the kernel compiles on the first call, after `go`
    go.touch()
    first = [_finish(p) for p in procs]
    assert all(r["counts"].get("saved") == 1 for r in first), first
    check = _finish(_start(tmp_path, cache, go, DTYPES))
    assert check["counts"] == {"loaded": len(DTYPES), **({"missed": 0} if "missed" in check["counts"] else {})}, check
    for dtype in DTYPES:
        assert check["results"][dtype] == (np.arange(10).astype(dtype) * 3).tolist(), dtype
    assert not list(cache.rglob("*.tmp.*")), "temporary cache files left behind"


def test_jobs_started_together_on_a_cold_cache(icon_sample, tmp_path):
    """Three product jobs start at once on a cold cache: all succeed with the same bits, and a fourth job
    compiles nothing."""
    from nwpflow.products import registry

    product = next((p for p in ("FF_10M", "FF", "BRN") if p in registry), None)
    script = (
        "import sys\n"
        "from nwpflow.jobs.compute import run_product_job\n"
        "run_product_job(sys.argv[1], sys.argv[2:4], sys.argv[4], threads=1)\n"
    )
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_NUM_THREADS": "1"}
    inputs = [str(icon_sample / "000" / "lfff00010000"), str(icon_sample / "lfff00000000c")]

    def job(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")
        return subprocess.Popen([sys.executable, "-c", script, product, *inputs, str(tmp_path / f"{name}.nc")],
                                env=env, stderr=log, stdout=log)

    jobs = [job(f"job{i}") for i in range(3)]
    assert [j.wait(timeout=300) for j in jobs] == [0, 0, 0], [(tmp_path / f"job{i}.log").read_text() for i in range(3)]
    import xarray as xr

    values = []
    for i in range(3):
        with xr.open_dataset(tmp_path / f"job{i}.nc") as ds:
            values.append(ds[product].values)
    for other in values[1:]:
        np.testing.assert_array_equal(values[0], other, strict=True)  # same code, same inputs: same bits
    assert job("late").wait(timeout=300) == 0
    log = (tmp_path / "late.log").read_text()
    assert "0 compiled and saved" in log and "0 loaded" not in log, log


def test_cache_patch_is_installed():
    """Importing any kernel installs the locked save (nwpflow.kernels/__init__.py)."""
    import nwpflow.kernels.brn  # noqa: F401
    from numba.core.caching import IndexDataCacheFile

    from nwpflow.kernels import _cache

    assert _cache.install() is True
    assert IndexDataCacheFile.save.__module__ == _cache.__name__


def test_warm_job_survives_a_failing_product(tmp_path, capsys):
    """A product whose warm-up fails is logged and skipped: the stamp is written all the same (the
    product's own job then reports the error where it belongs)."""
    from nwpflow.jobs.warm import run_warm_job
    from nwpflow.products.registry import Product, registry

    def broken(dataset, *, cache):
        raise RuntimeError("kaputt")

    registry.register(Product(name="BROKEN_TEST", description="fails", units="1", inputs=("T",), function=broken))
    try:
        stamp = run_warm_job(tmp_path / "stamp.done", products=["BROKEN_TEST", "BRN"], ensemble=True,
                                 time_products={"TOT_PREC_sum_1h": ("TOT_PREC", "accumulation", 1)}, threads=1)
    finally:
        registry._products.pop("BROKEN_TEST")
    text = stamp.read_text()
    assert "numba cache warmed for BROKEN_TEST, BRN" in text
    assert "not warmed (see logs/warm_cache.log): BROKEN_TEST on small, BROKEN_TEST on cosmo-small" in text
    log = capsys.readouterr().err  # the job logs to stderr (its log file under Snakemake)
    assert "warm-up of BROKEN_TEST on small failed: RuntimeError: kaputt" in log
    assert "warm-up of BRN" not in log and "warm-up of ensemble" not in log and "warm-up of accumulation" not in log
