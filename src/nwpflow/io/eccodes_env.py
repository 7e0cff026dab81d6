"""Import ecCodes with the COSMO/ICON definitions in front of the ECMWF ones.

MeteoSwiss's and DWD's GRIB use local tables (centre ``lssw``/``edzw``) whose parameters ecCodes only
names (``T``, ``QV``, ``HHL``, ...) with the definitions of ``eccodes-cosmo-resources-python``. They
must be on the definition path before ecCodes loads its first message, so every module of nwpflow
that talks to ecCodes imports it from here.

The COSMO definitions' ``boot_extra.def`` checks, for every message, that their version is exactly
the library's (2.47.0 against 2.47.3 here) and warns with ``print("/dev/stderr")`` — which opens
``/dev/stderr`` for writing and truncates the file standard error is redirected to (a job's log).
nwpflow puts a folder of its own first on the path whose ``boot_extra.def`` replaces theirs, and makes
the compatibility check once, here, by major and minor version (the rule meteodata-lab's dependency
pins express, ``eccodes>=2.47,<2.48``), refusing a real mismatch.
"""

from __future__ import annotations

import os

import eccodes
import eccodes_cosmo_resources

OVERRIDES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eccodes_definitions")
"""nwpflow's own definition files, searched before the COSMO and the ECMWF ones."""


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _configure() -> str:
    cosmo = str(eccodes_cosmo_resources.get_definitions_path())
    library_version = eccodes.codes_get_api_version()
    with open(os.path.join(cosmo, "boot_extra.def")) as f:
        text = f.read()
    marker = "constant edzwDefinitionFilesVersion = '"
    definitions_version = text.split(marker, 1)[1].split("'", 1)[0]
    if _major_minor(definitions_version) != _major_minor(library_version):
        raise ImportError(
            f"the COSMO/ICON ecCodes definitions in {cosmo!r} are version {definitions_version}, "
            f"the ecCodes library is {library_version}: install matching eccodeslib and "
            "eccodes-cosmo-resources-python versions (same major.minor)"
        )
    current = eccodes.codes_definition_path()
    if not current.startswith(OVERRIDES):
        ecmwf = current.split(":")[-1]
        eccodes.codes_set_definitions_path(f"{OVERRIDES}:{cosmo}:{ecmwf}")
    return eccodes.codes_definition_path()


DEFINITION_PATH = _configure()

__all__ = ["DEFINITION_PATH", "eccodes"]
