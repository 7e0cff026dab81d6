"""Re-run triggers by content: what the rules hand Snakemake so that it re-runs a job exactly when the code,
the options or the files that make its outputs change, and never because a file was touched.

Three mechanisms, one identity (:mod:`nwpflow.products.identity`):

* ``params: code=...`` of every rule (:func:`product_code`, :func:`fanin_code`, :func:`grid_code`,
  :func:`sample_code`): Snakemake records each job's params beside its outputs (``.snakemake/metadata``)
  and re-runs a job whose params changed ("Params have changed since last execution"); ``snakemake
  --list-changes params`` lists them. Snakemake's own ``code`` trigger compares a script's modification
  time with the outputs' (``Job.outputs_older_than_script_or_notebook``): a ``touch`` or a fresh clone
  would re-run everything, so the workflow profiles switch it off (``rerun-triggers``). The job scripts
  (``scripts/*.py``) only hand the rule's values to a package function and are not part of any identity.
* **Recipe files** (:func:`write_recipes`, :func:`recipe_file`): ``{output_dir}/{run}/.identity/
  {PRODUCT}-{digest}.json``, named by the digest of the product's code, options, formats and GRIB2
  packing, an input of each of the product's jobs. The parse writes the recipe files that do not exist
  yet: a new one is newer than the product's files, so Snakemake re-runs its jobs (its modification-time
  trigger on inputs; a missing input that some rule could make would not, as a deleted ``temp()`` file
  does not). They live beside the outputs, so that a run from another working directory or a fresh
  clone (without Snakemake's metadata) with the same output folder still re-makes a file whose code or
  options differ, and re-makes nothing where they are the same.
* **Damaged outputs** (:func:`damaged_markers`): an output that exists but is not whole
  (:func:`nwpflow.io.integrity.file_complete`) gets a redo marker, written then, as an input of its job:
  newer than the outputs, it makes Snakemake run the job again. The marker goes once the output is whole.

:func:`config_env` hands the config's digest to the jobs for their provenance records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from nwpflow.identity import bytes_digest, code_identity
from nwpflow.io.integrity import file_complete
from nwpflow.products.identity import fanin_identity, grid_identity, product_identity
from nwpflow.provenance import CONFIG_DIGEST_ENV, SIDECAR_SUFFIX, config_digest
from nwpflow.workflow.paths import _strip, fanin_formats, product_formats
from nwpflow.workflow.plan import resolved_options

IDENTITY_DIR = ".identity"
"""Folder of the recipe files and redo markers in a run's output folder."""

SAMPLE_WRITER = "nwpflow.io.sample.writer"
"""The module that writes the embedded sample run."""


def config_env(config: Mapping) -> dict[str, str]:
    """Return ``{NWPFLOW_CONFIG_DIGEST: digest of the validated config}`` for the jobs' provenance."""
    return {CONFIG_DIGEST_ENV: config_digest(config)}


def _packing(config: Mapping, formats: Sequence[str]) -> dict:
    return dict(config.get("grib2") or {}) if "grib2" in formats else {}


def recipe(config: Mapping, product: str) -> dict:
    """Return what makes a product's files: its code identity, its options (with their defaults), its
    formats and GRIB2 packing."""
    formats = product_formats(config)
    return {"product": product, "code": product_identity(product, formats).digest,
            "options": resolved_options(config, product),
            "formats": formats, "grib2": _packing(config, formats)}


def fanin_recipe(config: Mapping) -> dict:
    """Return what makes the ensemble and time products' files: the code, the formats, the GRIB2 packing
    and the config blocks ``ensemble`` and ``time_statistics``."""
    formats = fanin_formats(config)
    return {"product": "fanin", "code": fanin_identity(formats).digest, "formats": formats,
            "grib2": _packing(config, formats), "ensemble": config.get("ensemble"),
            "time_statistics": config.get("time_statistics")}


def _name(recipe: Mapping) -> str:
    text = json.dumps(recipe, sort_keys=True, default=str, separators=(",", ":"))
    return f"{recipe['product']}-{bytes_digest(text).split(':', 1)[1][:16]}"


def recipes(config: Mapping, products: Iterable[str]) -> dict[str, dict]:
    """Return ``{recipe file name without .json: recipe}`` of ``products`` and of the fan-in products."""
    found = [recipe(config, p) for p in products] + [fanin_recipe(config)]
    return {_name(r): r for r in found}


def write_recipes(config: Mapping, products: Iterable[str]) -> list[str]:
    """Write the recipe files of ``products`` and of the fan-in products that do not exist yet (while
    Snakemake parses: a new one is newer than the outputs it describes); return the files written."""
    folder = Path(_strip(config["output_dir"])) / config["run"]["name"] / IDENTITY_DIR
    written = []
    for name, made in recipes(config, products).items():
        path = folder / f"{name}.json"
        if path.exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(made, sort_keys=True, indent=1, default=str) + "\n", encoding="utf-8")
        os.replace(temporary, path)
        written.append(str(path))
    return written


def recipe_file(config: Mapping, product: str | None) -> str:
    """Return the recipe file of ``product`` (``None``: the fan-in products), with the ``{run}`` wildcard.

    Examples
    --------
    >>> recipe_file({"output_dir": "results", "formats": ["netcdf"]}, "BRN")  # doctest: +ELLIPSIS
    'results/{run}/.identity/BRN-....json'
    """
    made = fanin_recipe(config) if product is None else recipe(config, product)
    return f"{_strip(config['output_dir'])}/{{run}}/{IDENTITY_DIR}/{_name(made)}.json"


def product_code(config: Mapping, product: str) -> str:
    """Return the code identity of a product's files (a rule's ``params.code``): 16 hex digits."""
    return product_identity(product, product_formats(config)).short


def fanin_code(config: Mapping) -> str:
    """Return the code identity of the ensemble and time products' files (``params.code`` of their rules)."""
    return fanin_identity(fanin_formats(config)).short


def grid_code() -> str:
    """Return the code identity of the grid file (``params.code`` of rule ``grid``)."""
    return grid_identity().short


def sample_code() -> str:
    """Return the code identity of the sample run's writer (``params.code`` of rule ``sample``)."""
    return code_identity([SAMPLE_WRITER]).short


def damaged_markers(config: Mapping, templates: Iterable[str], wildcards: Mapping[str, str]) -> list[str]:
    """Return a redo marker for each output of a job that exists but is not whole, written now (an empty
    list where every existing output is whole): the input that makes Snakemake run the job again.

    ``templates``: the job's output paths with wildcards; a GRIB2 output's provenance record beside it
    (:func:`nwpflow.provenance.sidecar_path`) counts as one of its outputs. The marker of an output that
    is whole again is removed.
    """
    markers = []
    for template in templates:
        path = template.format(**wildcards)
        relative = os.path.relpath(path, _strip(config["output_dir"])).replace(os.sep, "~")
        marker = Path(_strip(config["output_dir"])) / wildcards.get("run", "") / IDENTITY_DIR / "redo" / relative
        checked = [path, path + SIDECAR_SUFFIX] if path.endswith(".grib2") else [path]
        if os.path.exists(path) and not all(file_complete(p) for p in checked):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{path} exists but is not whole: its job runs again\n", encoding="utf-8")
            markers.append(str(marker))
        elif marker.parent.is_dir() and marker.exists():
            marker.unlink()
    return markers


__all__ = ["IDENTITY_DIR", "config_env", "damaged_markers", "fanin_code", "fanin_recipe", "grid_code",
           "product_code", "recipe", "recipe_file", "recipes", "sample_code", "write_recipes"]
