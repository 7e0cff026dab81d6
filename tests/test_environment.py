"""The locked environment: requirements.lock pins every package of the runtime and test environments with
its hashes; pyproject.toml's pins and envs/nwpflow.yaml (the conda environment of `--sdm conda`) agree
with it, and it holds exactly the environment the tests run in."""

from __future__ import annotations

import re
from importlib import metadata

import yaml
from conftest import ROOT

LOCK = ROOT / "requirements.lock"


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[str, list[str]]]:
    """{package: (version, [sha256 hashes])} of requirements.lock."""
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[\w,-]+\])?==(\S+)(.*)$", line)
        if match:
            pins[canonical(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", match[3]))
    return pins


def test_every_locked_package_is_pinned_with_hashes():
    pins = locked()
    assert len(pins) > 80, "the lock holds the transitive packages too, not the direct ones only"
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert unhashed == []
    # nothing but exact pins: a line that names a package names it with ==
    loose = [line for line in LOCK.read_text(encoding="utf-8").splitlines()
             if re.match(r"^[A-Za-z0-9]", line) and "==" not in line]
    assert loose == []


def test_pyproject_pins_are_the_locked_versions():
    """The runtime dependencies and the `test` extra (what the lock is compiled from); the other extras
    (study, legate, slurm) are optional installs beside it."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["test"]
    pinned = dict(line.split("==") for line in lines)
    assert {"numpy", "numba", "snakemake", "xxhash", "pytest", "cfchecker"} <= set(pinned)
    pins = locked()
    assert {n: v for n, v in pinned.items() if pins.get(canonical(n), (None,))[0] != v} == {}


CONDA_NAMES = {"matplotlib-base": "matplotlib"}
"""conda-forge names that differ from PyPI's (matplotlib without its Qt/Tk backends)."""


def test_conda_environment_agrees_with_the_lock():
    env = yaml.safe_load((ROOT / "envs" / "nwpflow.yaml").read_text(encoding="utf-8"))
    pins = locked()
    found = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                name, version = line.split("==")
                found[canonical(name)] = version
        elif entry.startswith("python "):
            assert entry == "python =3.11", "the lock is compiled for Python 3.11"
        elif "=" in entry:
            name, version = (part.strip() for part in entry.split("="))
            found[CONDA_NAMES.get(name, canonical(name))] = version
    assert len(found) >= 15
    assert {n: v for n, v in found.items() if pins.get(n, (None,))[0] != v} == {}


def test_the_tests_run_in_the_locked_environment():
    """Every locked package is installed at its locked version (the environment was made from the lock,
    or the lock from it)."""
    differ = {}
    for name, (version, _) in locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differ[name] = (version, installed)
    assert differ == {}
