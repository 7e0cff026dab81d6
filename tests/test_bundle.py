"""Bundles (nwpflow.jobs.bundle): one job, one dask.delayed graph, the same bits as one job per product,
and never more numba threads x dask workers than the job's threads."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from nwpflow.io.sample.writer import SAMPLE_FIELDS
from nwpflow.jobs.bundle import THREADSAFE_LAYERS, compute_bundle, plan_threads, threading_layer
from nwpflow.jobs.compute import compute_products
from nwpflow.provenance import ATTRIBUTE, comparable



def bundle_products(limit: int | None = None) -> list[str]:
    """Registered products the sample run has every input of (with what they require), BRN and HPBL first."""
    from nwpflow.products import fields_needed, registry

    names = [n for n in ("BRN", "HPBL") if n in registry]
    names += sorted(n for n in registry if n not in names)
    usable = []
    for name in names:
        try:
            if set(fields_needed([name])) <= set(SAMPLE_FIELDS):
                usable.append(name)
        except Exception:  # a product being written may not be complete yet
            continue
    return usable[:limit]


def inputs_of(sample: Path, member: int = 0, lead: int = 1) -> list[str]:
    return [str(sample / f"{member:03d}" / f"lfff000{lead}0000"), str(sample / "lfff00000000c")]


def assert_same_bits(a: Path, b: Path, name: str) -> None:
    """Same variable, dims, coordinates, attributes (but the time-stamped history) and bits."""
    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        assert x[name].dims == y[name].dims
        # NaN where the other has NaN, and every other value identical: no tolerance, the bundle runs
        # the same code on the same float32 inputs, and the kernels give the same bits for any thread count
        np.testing.assert_array_equal(x[name].values, y[name].values, strict=True)
        assert x[name].attrs == y[name].attrs
        assert set(x.coords) == set(y.coords)
        for coord in x.coords:
            np.testing.assert_array_equal(x[coord].values, y[coord].values)
        # the history line: time stamp, product and the job's input files (HPBL's own job lists BRN.nc,
        # a bundle that computes BRN too does not), so only the part before the inputs must agree
        history = lambda ds: re.sub(r"^\S+ ", "", ds.attrs["history"]).split(" from ")[0]  # noqa: E731
        assert history(x) == history(y)
        # the provenance records: equal but for what may differ (the time, the thread count: VOLATILE) and,
        # for the same reason as the history, the input files
        records = [comparable(json.loads(ds.attrs[ATTRIBUTE])) for ds in (x, y)]
        for record in records:
            record.pop("inputs")
        assert records[0] == records[1]
        assert {k: v for k, v in x.attrs.items() if k not in ("history", ATTRIBUTE)} == {
            k: v for k, v in y.attrs.items() if k not in ("history", ATTRIBUTE)}


@pytest.mark.parametrize(("threads", "tasks", "layer"), [(t, n, layer) for t in (1, 2, 3, 8, 16) for n in (1, 2, 5, 20)
                                                         for layer in ("omp", "tbb", "workqueue")])
def test_plan_threads_never_oversubscribes(threads, tasks, layer):
    workers, per_task = plan_threads(threads, tasks, layer)
    assert 1 <= workers * per_task <= threads
    assert workers <= tasks
    if layer == "workqueue":
        assert (workers, per_task) == (1, threads)  # never two parallel kernels at once
    else:
        assert workers == min(threads, tasks)  # as many products at once as cores allow


def test_bundle_equals_one_job_per_product(icon_sample, tmp_path):
    """Every product of a bundle is bit for bit what its own job writes (HPBL there reads BRN.nc)."""
    products = bundle_products(6)  # BRN, HPBL and others: enough to share fields, short enough to run here
    assert "BRN" in products
    inputs = inputs_of(icon_sample)
    single = {}
    for name in products:
        # one job per product, as rules/products.smk runs them: a required product comes from its file
        required = [str(single[r]) for r in _requires(name) if r in single]
        single.update(compute_products([name], inputs + required, output_dir=tmp_path / "single", threads=1))
    bundled = compute_bundle(products, inputs, {n: tmp_path / "bundle" / f"{n}.nc" for n in products}, threads=2)
    assert set(bundled) == set(products)
    for name in products:
        assert_same_bits(single[name], bundled[name], name)


def _requires(name):
    from nwpflow.products import registry

    return registry[name].requires


def test_bundle_reads_a_required_product_from_its_file(icon_sample, tmp_path, caplog):
    """A bundle without BRN but with HPBL reads BRN.nc (an input) instead of computing BRN."""
    if "HPBL" not in bundle_products():
        pytest.skip("HPBL is not registered yet")
    inputs = inputs_of(icon_sample)
    brn = compute_products(["BRN"], inputs, output_dir=tmp_path / "brn")["BRN"]
    with caplog.at_level(logging.INFO, logger="nwpflow"):
        caplog.clear()  # only the bundle's records (an earlier test may have left the logger at INFO)
        written = compute_bundle(["HPBL"], inputs + [str(brn)], {"HPBL": tmp_path / "HPBL.nc"}, threads=2)
    assert "BRN computed" not in caplog.text
    assert re.search(r"read .*BRN", caplog.text)
    reference = compute_bundle(["BRN", "HPBL"], inputs, {n: tmp_path / "ref" / f"{n}.nc" for n in ("BRN", "HPBL")})
    assert_same_bits(written["HPBL"], reference["HPBL"], "HPBL")


def test_bundle_threads_per_task(icon_sample, tmp_path, caplog):
    """threads=2 with a thread-safe layer: 2 dask workers x 1 numba thread each, in the log of each task."""
    products = bundle_products(4)
    with caplog.at_level(logging.INFO, logger="nwpflow"):
        compute_bundle(products, inputs_of(icon_sample), {n: tmp_path / f"{n}.nc" for n in products}, threads=2)
    layer = threading_layer()
    plan = re.search(r"numba threading layer (\w+), (\d+) dask workers x (\d+) numba threads", caplog.text)
    assert plan and plan[1] == layer
    workers, per_task = int(plan[2]), int(plan[3])
    assert workers * per_task <= 2
    used = [int(n) for n in re.findall(r"computed in [\d.]+ s \((\d+) numba threads", caplog.text)]
    assert len(used) >= len(products) and set(used) == {per_task}
    if layer in THREADSAFE_LAYERS:
        assert (workers, per_task) == (2, 1)


def test_bundle_under_workqueue_runs_one_product_at_a_time(icon_sample, tmp_path):
    """numba's workqueue layer aborts the process on two concurrent parallel launches: under it the
    bundle runs its tasks one after the other (with every thread), and the results are the same."""
    products = bundle_products(3)
    inputs = inputs_of(icon_sample)
    reference = compute_bundle(products, inputs, {n: tmp_path / "ref" / f"{n}.nc" for n in products}, threads=2)
    script = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from nwpflow.jobs.bundle import compute_bundle\n"
        f"products = {products!r}\n"
        f"compute_bundle(products, {inputs!r}, {{n: {str(tmp_path / 'wq')!r} + '/' + n + '.nc' for n in products}},"
        " threads=2)\n"
    )
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "numba threading layer workqueue, 1 dask workers x 2 numba threads" in proc.stderr, proc.stderr[-3000:]
    for name in products:
        assert_same_bits(reference[name], tmp_path / "wq" / f"{name}.nc", name)


def test_bundle_rejects_bad_requests(icon_sample, tmp_path):
    from nwpflow.errors import NwpflowError, OptionError, UnknownProductError

    inputs = inputs_of(icon_sample)
    with pytest.raises(UnknownProductError, match="NOPE"):
        compute_bundle(["NOPE"], inputs, {"NOPE": tmp_path / "x.nc"})
    with pytest.raises(NwpflowError, match="no output path for BRN"):
        compute_bundle(["BRN"], inputs, {})
    with pytest.raises(OptionError):
        compute_bundle(["BRN"], inputs, {"BRN": tmp_path / "x.nc"}, options={"BRN": {"colour": 1}})
    assert not list(tmp_path.iterdir())  # nothing written
