"""The layout holds: layers import only downwards, imports stay light, files stay small, and a new
product needs a kernel, a registry entry and its tests, nothing else (docs/architecture.md)."""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from conftest import ROOT

SRC = ROOT / "src" / "nwpflow"

READERS_AND_WRITERS = ("nwpflow.io.reader", "nwpflow.io.writer", "nwpflow.io.grib", "nwpflow.io.grib_writer",
                       "nwpflow.io.netcdf", "nwpflow.io.eccodes_env", "nwpflow.io.sample.writer")
LIBRARIES_OF_JOBS = ("numba", "llvmlite", "xarray", "pandas", "dask", "netCDF4", "eccodes", "gribapi", "cfgrib")

RULES: dict[str, tuple[str, ...]] = {
    # layer (module prefix): what its modules may not import
    "nwpflow.errors": ("nwpflow.",),
    "nwpflow.constants": ("nwpflow.",),
    "nwpflow.naming": ("nwpflow.constants", "nwpflow.io", "nwpflow.kernels", "nwpflow.products", "nwpflow.jobs",
                       "nwpflow.workflow", "nwpflow.cli"),
    "nwpflow.kernels": ("xarray", "pandas", "dask", "netCDF4", "eccodes", "gribapi", "cfgrib", "nwpflow.io",
                        "nwpflow.products", "nwpflow.jobs", "nwpflow.workflow", "nwpflow.cli"),
    "nwpflow.io": ("nwpflow.products", "nwpflow.jobs", "nwpflow.workflow", "nwpflow.cli", "snakemake"),
    "nwpflow.products": (*READERS_AND_WRITERS, "nwpflow.io.sample", "netCDF4", "eccodes", "gribapi", "dask",
                         "nwpflow.jobs", "nwpflow.workflow", "nwpflow.cli", "snakemake"),
    "nwpflow.plots": ("nwpflow.jobs", "nwpflow.workflow", "nwpflow.cli", "snakemake", "netCDF4", "eccodes", "gribapi",
                      "cfgrib", "matplotlib.pyplot"),
    "nwpflow.jobs": ("nwpflow.workflow", "nwpflow.cli", "snakemake"),
    "nwpflow.workflow": (*READERS_AND_WRITERS, *LIBRARIES_OF_JOBS, "nwpflow.kernels", "nwpflow.jobs", "nwpflow.cli",
                         "nwpflow.plots", "matplotlib"),
}
"""Who may not import whom. Kernels: plain arrays, no xarray, no I/O. io: reads and writes the data model,
knows no products. products: registry and wrappers, no file I/O. jobs: what runs in a job, never the
parse-time workflow. plots: draws what the products hold, reading every file through io (no file library of
its own) and the registry's metadata, never the jobs or the workflow; matplotlib through its object API only
(pyplot keeps global figures). workflow: what runs while Snakemake parses, none of the jobs' libraries."""

LONG_FILES = {
    "kernels/convection.py": "the parcel ascent of CAPE/CIN/LCL/LFC/EL: one algorithm whose stages share one "
                             "per-column state layout (the _P ... _NSTATE rows) and the numerics notes",
}
"""Files allowed over :data:`MAX_LINES`, and why."""
MAX_LINES = 700


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions (``from nwpflow import kernels``
    counts as ``nwpflow.kernels``; relative imports are resolved)."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def leaks(root: Path) -> list[str]:
    """``module imports forbidden`` for every import that breaks :data:`RULES` in the package at ``root``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        layer = next((prefix for prefix in RULES if module == prefix or module.startswith(prefix + ".")), None)
        if layer is None:
            continue
        for imported in sorted(imports_of(path, root)):
            for forbidden in RULES[layer]:
                if imported == forbidden.rstrip(".") or imported.startswith(forbidden.rstrip(".") + "."):
                    found.setdefault((module, forbidden),
                                     f"{module} imports {imported} (layer {layer} may not import {forbidden})")
    return list(found.values())


def test_layers_import_only_downwards():
    assert leaks(SRC) == []


def test_the_import_rules_catch_a_leak(tmp_path):
    """The check itself: a kernel importing xarray, io importing the registry (even inside a function,
    or relatively), the workflow importing a job are reported."""
    package = tmp_path / "nwpflow"
    for sub in ("kernels", "io", "workflow"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "kernels" / "bad.py").write_text("import xarray as xr\n")
    (package / "io" / "bad.py").write_text("def f():\n    from ..products import registry\n")
    (package / "workflow" / "bad.py").write_text("from nwpflow.jobs.compute import compute_products\n")
    (package / "workflow" / "good.py").write_text("from nwpflow.products import registry\n")
    found = leaks(package)
    assert len(found) == 3, found
    assert any("nwpflow.kernels.bad imports xarray" in f for f in found)
    assert any("nwpflow.io.bad imports nwpflow.products" in f for f in found)
    assert any("nwpflow.workflow.bad imports nwpflow.jobs.compute" in f for f in found)


LIGHT = {
    "import nwpflow": LIBRARIES_OF_JOBS,
    "import nwpflow.workflow": ("numba", "netCDF4", "eccodes", "gribapi", "dask", "nwpflow.jobs", "nwpflow.io.reader",
                                "nwpflow.io.sample.writer", "nwpflow.kernels.thermo", "matplotlib", "nwpflow.plots"),
    "import nwpflow.workflow.quicklooks": ("numba", "netCDF4", "eccodes", "matplotlib", "nwpflow.plots"),
    "import nwpflow.plots": ("matplotlib", "numba", "xarray", "netCDF4", "eccodes"),
    "import nwpflow.products": ("numba", "netCDF4", "gribapi", "dask"),
    "import nwpflow.jobs.compute": ("dask", "snakemake", "jsonschema", "nwpflow.workflow", "nwpflow.jobs.warm",
                                    "nwpflow.jobs.bundle", "nwpflow.jobs.fanin", "nwpflow.io.sample.writer",
                                    "nwpflow.io.grib_writer"),
}
"""What each entry point must not load: ``import nwpflow`` nothing heavy; Snakemake's parse (the rules
import nwpflow.workflow) and ``nwpflow products`` no numba, ecCodes or netCDF4; a product job not the
bundles' dask, the other jobs or the workflow."""


@pytest.mark.parametrize("statement", list(LIGHT))
def test_imports_load_only_what_they_use(statement):
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                 .stdout.split())
    heavy = [name for name in LIGHT[statement] if name in loaded]
    assert heavy == [], f"`{statement}` loads {heavy}"


def test_no_oversized_file():
    sizes = {str(p.relative_to(SRC)): len(p.read_text(encoding="utf-8").splitlines()) for p in SRC.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES and name not in LONG_FILES}
    assert over == {}, f"split these files (or add a reason to LONG_FILES): {over}"


def test_docstring_examples_hold():
    """Every example in the package's docstrings holds (numbagg and MetPy run theirs too)."""
    attempted = failed = 0
    for info in pkgutil.walk_packages([str(SRC)], prefix="nwpflow."):
        result = doctest.testmod(importlib.import_module(info.name), optionflags=doctest.ELLIPSIS)
        attempted += result.attempted
        failed += result.failed
    assert failed == 0
    assert attempted > 60


# --- adding a product --------------------------------------------------------------------------------

TOY_PLUGIN = '''
"""A product added from outside nwpflow: its kernel and its registry entry, nothing else."""
import numpy as np
from numba import prange

from nwpflow.kernels._jit import kernel
from nwpflow.products import Product, registry
from nwpflow.products._columns import as_field, columns, lead_dims, outer_index


@kernel
def _twice_t_minus_qv(t, qv, out):
    for c in prange(t.shape[1]):
        for k in range(t.shape[0]):
            out[k, c] = np.float32(2.0 * np.float64(t[k, c]) - np.float64(qv[k, c]))


def _toy(dataset, *, cache):
    t, qv = dataset["T"], dataset["QV"]
    leads = lead_dims([t, qv])
    a, b = columns(t, leads, "level"), columns(qv, leads, "level")
    out = np.empty(a.shape, np.float32)
    for i in range(a.shape[0]):
        _twice_t_minus_qv(outer_index(a, i), outer_index(b, i), out[i])
    return as_field(out, t, leads, "level", dict(t.sizes))


registry.register(Product(name="TOY", description="two T minus QV (a test product)", units="K",
                          inputs=("T", "QV"), function=_toy))
'''


@pytest.fixture
def toy_plugin(tmp_path):
    """A plugin distribution on PYTHONPATH: a module and the entry point that names it (group
    ``nwpflow.products``), as ``pip install`` of a package declaring it would leave it."""
    site = tmp_path / "site"
    (site / "nwpflow_toy-1.0.dist-info").mkdir(parents=True)
    (site / "nwpflow_toy.py").write_text(textwrap.dedent(TOY_PLUGIN))
    (site / "nwpflow_toy-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: nwpflow-toy\n"
                                                                  "Version: 1.0\n")
    (site / "nwpflow_toy-1.0.dist-info" / "entry_points.txt").write_text("[nwpflow.products]\ntoy = nwpflow_toy\n")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)  # the code under test too
    env = {"PYTHONPATH": path, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    return site, env


def expected_toy(files) -> np.ndarray:
    import nwpflow

    ds = nwpflow.open_run(files, ["T", "QV"])
    return (2.0 * ds["T"].values.astype(np.float64) - ds["QV"].values.astype(np.float64)).astype(np.float32)


def test_a_new_product_through_the_cli(toy_plugin, icon_sample, tmp_path):
    """The plugin's product is listed and computed by the CLI, with no edit to nwpflow."""
    import os

    _, extra = toy_plugin
    env = {**os.environ, **extra}
    files = [str(icon_sample / "000" / "lfff00010000"), str(icon_sample / "lfff00000000c")]
    listed = subprocess.run([sys.executable, "-m", "nwpflow.cli", "products"], env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "TOY" in listed and "two T minus QV" in listed
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "nwpflow.cli", "compute", "TOY", "--input", *files, "--output", str(out)],
                   env=env, check=True, capture_output=True)
    with netCDF4.Dataset(out / "TOY.nc") as ds:
        np.testing.assert_array_equal(ds["TOY"][:].data, expected_toy(files), strict=True)


@pytest.mark.slow
def test_a_new_product_through_a_snakemake_rule(toy_plugin, tmp_path):
    """The workflow makes the plugin's product a rule of its own (one job per member and lead time), its
    ensemble statistics too, with no edit to the rules, the config schema or any table."""
    import os

    _, extra = toy_plugin
    env = {**os.environ, **extra}
    work = tmp_path / "work"
    work.mkdir()
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
                 "--configfile", str(ROOT / "config" / "config.yaml")]
    rules = subprocess.run([*snakemake, "--list-rules", "--config", "bundles={catalogue: none}", "products=[TOY]"],
                           env=env, cwd=work, capture_output=True, text=True, check=True).stdout.split()
    assert "toy" in rules
    proc = subprocess.run([*snakemake, "--cores", "2", "--config", "bundles={catalogue: none}", "products=[TOY]",
                           "members=[0,1]", "lead_times=[0,1]", "time_statistics={activate: false}"],
                          env=env, cwd=work, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sample = work / "data" / "sample"
    for member in (0, 1):
        path = work / "results" / "sample" / f"{member:03d}" / "001h" / "TOY.nc"
        with netCDF4.Dataset(path) as ds:
            np.testing.assert_array_equal(
                ds["TOY"][:].data, expected_toy([sample / f"{member:03d}" / "lfff00010000", sample / "lfff00000000c"]),
                strict=True)
    with netCDF4.Dataset(work / "results" / "sample" / "ensemble" / "001h" / "TOY.nc") as ds:
        assert "TOY_mean" in ds.variables
