"""Content identity (nwpflow.identity, nwpflow.products.identity): code by its import graph and bytes, files by
their bytes; never by modification times."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
import xxhash

from nwpflow import identity
from nwpflow.identity import closure, code_identity, file_digest
from nwpflow.products import registry
from nwpflow.products.identity import fanin_identity, product_identity


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    """A package outside nwpflow: ``toy.product`` imports ``toy.helpers`` and reaches ``toy.kernels.fast``
    through a lazy attribute of ``toy.kernels``; ``toy.other`` is imported by nobody."""
    root = tmp_path / "site"
    files = {
        "toy/__init__.py": "",
        "toy/product.py": "from toy import kernels\nfrom toy.helpers import twice\n\n"
                          "def run(x):\n    return kernels.fast.go(twice(x))\n",
        "toy/helpers.py": "def twice(x):\n    return 2 * x\n",
        "toy/kernels/__init__.py": "import importlib\n\ndef __getattr__(name):\n"
                                   "    return importlib.import_module(f'toy.kernels.{name}')\n",
        "toy/kernels/fast.py": "from toy import helpers\n\ndef go(x):\n    return helpers.twice(x) + 1\n",
        "toy/other.py": "X = 1\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(root))
    identity._top_level.cache_clear()
    yield root
    identity._top_level.cache_clear()
    for name in [m for m in sys.modules if m == "toy" or m.startswith("toy.")]:
        del sys.modules[name]


def test_closure_follows_imports_and_lazy_attributes(toy_package):
    assert list(closure(["toy.product"])) == ["toy", "toy.helpers", "toy.kernels", "toy.kernels.fast", "toy.product"]


def test_identity_changes_with_bytes_not_with_times(toy_package):
    before = code_identity(["toy.product"])
    helper = toy_package / "toy" / "helpers.py"
    stat = helper.stat()
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))  # a touch
    assert code_identity(["toy.product"]) == before
    (toy_package / "toy" / "other.py").write_text("X = 2\n")  # a module nobody imports
    assert code_identity(["toy.product"]) == before
    helper.write_text(helper.read_text() + "# a comment\n")  # an edit of a module it imports, however small
    after = code_identity(["toy.product"])
    assert after.digest != before.digest
    assert after.differences(before.modules) == ["toy.helpers: changed"]


def test_a_fresh_copy_has_the_same_identity(toy_package, tmp_path, monkeypatch):
    """The same bytes elsewhere (a fresh clone: new paths, new times) are the same code."""
    before = code_identity(["toy.product"])
    copy = tmp_path / "clone"
    for path in toy_package.rglob("*.py"):
        target = copy / path.relative_to(toy_package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    monkeypatch.syspath_prepend(str(copy))
    identity._top_level.cache_clear()
    assert identity.module_file("toy.product") == copy / "toy" / "product.py"
    assert code_identity(["toy.product"]) == before


def test_products_use_exactly_their_modules():
    """A product's identity holds its wrapper, the kernels that wrapper reaches, the reader and the writers;
    never another product's wrapper or an unrelated kernel (what decides which jobs a change re-runs)."""
    theta = product_identity("THETA").modules
    assert {"nwpflow.products.thermo", "nwpflow.kernels.thermo", "nwpflow.io.reader", "nwpflow.io.grib",
            "nwpflow.io.netcdf", "nwpflow.io.eccodes_env", "nwpflow.io.writer"} <= set(theta)
    assert not {"nwpflow.products.stability", "nwpflow.kernels.brn", "nwpflow.kernels.convection",
                "nwpflow.products.levels", "nwpflow.io.grib_writer", "nwpflow.products.fanin"} & set(theta)
    brn = product_identity("BRN").modules
    assert "nwpflow.kernels.brn" in brn and "nwpflow.products.thermo" not in brn
    hpbl = product_identity("HPBL").modules  # HPBL consumes BRN: BRN's wrapper and kernel are part of it
    assert {"nwpflow.products.stability", "nwpflow.kernels.brn", "nwpflow.kernels.vertical"} <= set(hpbl)
    assert "nwpflow.io.grib_writer" in product_identity("THETA", ["netcdf", "grib2"]).modules
    stats = fanin_identity().modules
    assert {"nwpflow.products.fanin", "nwpflow.kernels.stats"} <= set(stats)
    assert not any(registry[p].function.__module__ in stats for p in registry)


def test_file_digest_is_xxh3_128_of_the_bytes(tmp_path):
    path = tmp_path / "data.bin"
    data = os.urandom(20 << 20) + b"tail"  # more than one 8 MiB block
    path.write_bytes(data)
    assert file_digest(path) == f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"
    path.write_bytes(data[:-1] + b"T")
    assert file_digest(path) != f"xxh3_128:{xxhash.xxh3_128_hexdigest(data)}"
