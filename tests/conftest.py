"""Shared fixtures: where the read-only real data lives, and small sample runs written once per session."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
"""Real NWP files and published reference values, beside the project root (never copied into it)."""
CONFIG = ROOT / "config" / "config.yaml"
SCHEMA = ROOT / "config" / "schema.yaml"


def shared(relative: str) -> Path:
    """Path of a file in the shared data folder; skips the test, naming the file, where it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data {path} is absent (its folder {path.parent} is not beside the project)")
    return path


IFS_FILE = "ifs_model_levels/ifs_ml137_uvtq_lnsp_z_20181114T12_step24.grib"


@pytest.fixture(scope="session")
def ifs_file() -> Path:
    return shared(IFS_FILE)


@pytest.fixture(scope="session")
def icon_sample(tmp_path_factory) -> Path:
    """A small ICON-like sample run: 2 members x lead times 0, 1 h (the 'small' preset's grid)."""
    from nwpflow.io.sample import write_sample

    directory = tmp_path_factory.mktemp("icon_sample")
    write_sample(directory, "small", members=[0, 1], lead_times=[0, 1])
    return directory


@pytest.fixture(scope="session")
def cosmo_sample(tmp_path_factory) -> Path:
    """A small COSMO-like sample run on a rotated grid with staggered U/V: one member, lead time 1 h."""
    from nwpflow.io.sample import write_sample

    directory = tmp_path_factory.mktemp("cosmo_sample")
    write_sample(directory, "cosmo-small", members=[0], lead_times=[1])
    return directory


@pytest.fixture
def config() -> dict:
    """The shipped config/config.yaml, validated and completed like rules/common.smk does."""
    from nwpflow import workflow as nwf

    with open(CONFIG, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    jsonschema.Draft202012Validator(nwf.load_schema(SCHEMA)).validate(cfg)
    return cfg
