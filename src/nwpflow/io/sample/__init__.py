"""Write a synthetic but physically plausible ICON/COSMO model run as genuine GRIB2 files.

The run is what the pipeline's default input looks like: a constants file ``lfff00000000c`` and one file
per ensemble member and lead time, ``{member:03d}/lfff{DD}{HH}0000``, encoded by ecCodes with the key
conventions MeteoSwiss uses for ICON GRIB2 (centre ``lssw``, ensemble product templates, the
generalized vertical height coordinate, an unstructured grid with ``uuidOfHGrid``) or, for the COSMO
preset, a rotated-pole grid with C-grid staggered winds.

The fields are analytic in position and height, so any level of any field can be computed on its own:
the large presets are computed and encoded one level at a time (float64 only per level), and the
staggered COSMO winds are the same wind functions evaluated at the staggered points. Everything is
deterministic from ``seed``, the member and the lead time.

Examples
--------
>>> import tempfile
>>> from nwpflow.io.sample import write_sample, list_presets
>>> list_presets()
['small', 'cosmo-small', 'icon-ch2', 'icon-ch1']
>>> with tempfile.TemporaryDirectory() as d:
...     paths = write_sample(d, members=[0], lead_times=[0])
...     [p.relative_to(d).as_posix() for p in paths]
['lfff00000000c', '000/lfff00000000']
"""

from __future__ import annotations

import importlib

from nwpflow.io.sample.presets import PACKINGS, PRESETS, IconGrid, RotatedGrid, SamplePreset, list_presets


def __getattr__(name: str):
    if name == "write_sample":  # ecCodes: loaded only where a sample is written
        return importlib.import_module("nwpflow.io.sample.writer").write_sample
    raise AttributeError(f"module 'nwpflow.io.sample' has no attribute {name!r}")


__all__ = ["PACKINGS", "PRESETS", "IconGrid", "RotatedGrid", "SamplePreset", "list_presets", "write_sample"]
