"""Import ecCodes with the COSMO/ICON definitions in front of the ECMWF ones.

MeteoSwiss's and DWD's GRIB use local tables (centre ``lssw``/``edzw``) whose parameters ecCodes only
names (``T``, ``QV``, ``HHL``, ...) with the definitions of ``eccodes-cosmo-resources-python``. They
must be on the definition path before ecCodes loads its first message, so every module of nwpflow
that talks to ecCodes imports it from here.

The COSMO definitions print a warning for every message when their version is not exactly the
library's (2.47.0 against 2.47.3 here). nwpflow checks compatibility once, by major and minor version
(the same rule meteodata-lab's dependency pins express, ``eccodes>=2.47,<2.48``), refuses a real
mismatch and switches the per-message check off with its documented switch
``ECCODES_VERSION_CHECK_OFF``.
"""

from __future__ import annotations

import os

import eccodes
import eccodes_cosmo_resources


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
    os.environ["ECCODES_VERSION_CHECK_OFF"] = "1"
    ecmwf = eccodes.codes_definition_path()
    if not ecmwf.startswith(cosmo):
        eccodes.codes_set_definitions_path(f"{cosmo}:{ecmwf}")
    return eccodes.codes_definition_path()


DEFINITION_PATH = _configure()

__all__ = ["DEFINITION_PATH", "eccodes"]
