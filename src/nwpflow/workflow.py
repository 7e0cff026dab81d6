"""Helpers the Snakemake workflow uses: file names, targets, wildcards and resource estimates.

Everything ``rules/*.smk`` derives from the config is computed here, in plain functions that take
the config dict and are unit-tested (``tests/test_workflow_helpers.py``, ``tests/test_workflow_config.py``),
so the ``.smk`` files only wire things together: the product set and the products they require, bundles,
ensemble and time products, which inputs are complete (``incremental``), the numba warm-up stamp and the
memory estimates. The job functions :func:`run_sample_job`, :func:`run_warm_job`, :func:`run_product_job`,
:func:`run_bundle_job`, :func:`run_ensemble_job` and :func:`run_time_job` are what ``scripts/*.py`` call.

Snakemake imports this module when it parses the workflow, so it imports nothing heavy (numba, xarray,
ecCodes) at module level: the product registry, the sample presets and the compute code are imported
inside the functions that need them. (``import nwpflow.workflow`` still runs ``nwpflow/__init__.py``,
which imports the reader and the products, about 0.9 s.)

Paths (all relative to Snakemake's working directory)::

    {output_dir}/{run}/{member}/{lead}h/{PRODUCT}.nc     one product, one member, one lead time
    logs/{run}/{member}/{lead}h/{PRODUCT}.log            its log
    logs/benchmarks/{run}/{member}/{lead}h/{PRODUCT}.tsv its Snakemake benchmark table

with ``member`` the ensemble member on three digits (``000`` is the control run) and ``lead`` the
lead time in whole hours on three digits (``000``, ``001``, ..., ``120``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import string
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from nwpflow.errors import NwpflowError

SAMPLE_CONSTANTS = "lfff00000000c"
"""File name of the constant fields (HHL, HSURF, ...) in a sample run written by ``write_sample``."""

SAMPLE_PATTERN = "{member:03d}/lfff{ddhh}0000"
"""File-name pattern of one member and lead time in a sample run written by ``write_sample``."""

PATTERN_FIELDS = ("member", "lead", "dd", "hh", "ddhh")
"""Replacement fields a ``run.pattern`` may use: the member number, the lead time in hours, its days
and remaining hours (integers) and the ``DDHH`` code of COSMO/ICON file names (a string)."""

LOG_DIR = "logs"
"""Folder of the per-job logs, mirroring the output tree."""

BENCHMARK_DIR = "logs/benchmarks"
"""Folder of Snakemake's per-job benchmark tables. Not ``benchmarks/``: that folder holds the
project's own benchmark scripts."""

JOB_PATH = "{run}/{member}/{lead}h/{product}"
"""Path of one job's files below the output, log and benchmark folders, without suffix."""

logger = logging.getLogger(__name__)


class ConfigError(NwpflowError, ValueError):
    """A workflow config value that cannot be used; the message names the key and the allowed values."""

    def __init__(self, key: str, what: str):
        self.key = key
        super().__init__(f"config key {key!r}: {what}")


# --- names and codes -------------------------------------------------------------------------------


def lead_code(hours: int) -> str:
    """Return the ``DDHH`` code of a lead time, as COSMO/ICON output file names carry it.

    Parameters
    ----------
    hours : int
        Lead time in whole hours, 0 or more and below 100 days.

    Returns
    -------
    str
        Days and remaining hours, two digits each.

    Examples
    --------
    >>> lead_code(1)
    '0001'
    >>> lead_code(33)
    '0109'
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours < 100 * 24:
        raise ValueError(f"lead time must be a whole number of hours in 0..{100 * 24 - 1}, got {hours!r}")
    days, rest = divmod(hours, 24)
    return f"{days:02d}{rest:02d}"


def member_label(member: int) -> str:
    """Return the ``{member}`` wildcard value of an ensemble member: three digits.

    Examples
    --------
    >>> member_label(2)
    '002'
    """
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member <= 999:
        raise ValueError(f"member must be a whole number in 0..999, got {member!r}")
    return f"{member:03d}"


def lead_label(hours: int) -> str:
    """Return the ``{lead}`` wildcard value of a lead time: whole hours on three digits.

    Examples
    --------
    >>> lead_label(33)
    '033'
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 999:
        raise ValueError(f"lead time must be a whole number of hours in 0..999, got {hours!r}")
    return f"{hours:03d}"


def parse_label(label: str) -> int:
    """Return the number a ``{member}`` or ``{lead}`` wildcard value stands for.

    Examples
    --------
    >>> parse_label("033")
    33
    """
    if not re.fullmatch(r"\d{3}", label):
        raise ValueError(f"expected three digits, got {label!r}")
    return int(label)


def input_file_name(pattern: str, member: int, lead: int) -> str:
    """Return the file name of one member and lead time, from a ``run.pattern``.

    Parameters
    ----------
    pattern : str
        A :meth:`str.format` pattern using the fields in :data:`PATTERN_FIELDS`, relative to the
        run's input directory, e.g. ``"{member:03d}/lfff{ddhh}0000"``.
    member : int
        Ensemble member.
    lead : int
        Lead time in hours.

    Returns
    -------
    str
        The file name, relative to the input directory.

    Raises
    ------
    ConfigError
        If the pattern is malformed or uses a field that is not in :data:`PATTERN_FIELDS`.

    Examples
    --------
    >>> input_file_name("{member:03d}/lfff{ddhh}0000", 1, 33)
    '001/lfff01090000'
    """
    days, hours = divmod(lead, 24)
    fields = {"member": member, "lead": lead, "dd": days, "hh": hours, "ddhh": lead_code(lead)}
    allowed = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as err:
        raise ConfigError("run.pattern", f"{pattern!r} is not a valid format string ({err})") from None
    unknown = sorted(n for n in names if n not in fields)
    if unknown:
        raise ConfigError(
            "run.pattern", f"{pattern!r} uses {', '.join(unknown)}; allowed fields are {allowed}"
        )
    if "member" not in names:
        raise ConfigError("run.pattern", f"{pattern!r} must contain {{member}} (allowed fields: {allowed})")
    if not names & {"lead", "ddhh", "hh"}:
        raise ConfigError("run.pattern", f"{pattern!r} must contain the lead time ({allowed})")
    try:
        return pattern.format(**fields)
    except (ValueError, TypeError) as err:
        raise ConfigError("run.pattern", f"{pattern!r} cannot be formatted: {err}") from None


# --- the run's input files -------------------------------------------------------------------------


def input_layout(config: Mapping) -> tuple[str, str, str]:
    """Return where the run's input files are: directory, constants file name and file-name pattern.

    With ``sample.activate`` the inputs are the sample run that rule ``sample`` writes into
    ``sample.directory``, named as ``write_sample`` names them; ``run.input_dir``,
    ``run.constants`` and ``run.pattern`` then play no part.

    Parameters
    ----------
    config : Mapping
        The validated workflow config.

    Returns
    -------
    tuple of str
        ``(directory, constants, pattern)``.
    """
    if is_activated(config, "sample"):
        return config["sample"]["directory"], SAMPLE_CONSTANTS, SAMPLE_PATTERN
    run = config["run"]
    return run["input_dir"], run["constants"], run["pattern"]


def job_inputs(config: Mapping, member: int, lead: int) -> list[str]:
    """Return the input files of one member and lead time: its model-output file and the constants file.

    Examples
    --------
    >>> cfg = {"sample": {"activate": True, "directory": "data/sample"}}
    >>> job_inputs(cfg, 0, 33)
    ['data/sample/000/lfff01090000', 'data/sample/lfff00000000c']
    """
    directory, constants, pattern = input_layout(config)
    return [_join(directory, input_file_name(pattern, member, lead)), _join(directory, constants)]


def sample_files(config: Mapping) -> list[str]:
    """Return every file of the sample run the configured members and lead times need, constants
    file first: the outputs of rule ``sample``.

    They lie in ``sample.directory`` whether or not the sample is activated, so that rule ``sample``
    never claims the files of a real run.

    Examples
    --------
    >>> sample_files({"sample": {"directory": "data/sample"}, "members": [0], "lead_times": [0, 1]})
    ['data/sample/lfff00000000c', 'data/sample/000/lfff00000000', 'data/sample/000/lfff00010000']
    """
    return _files(config, config["sample"]["directory"], SAMPLE_CONSTANTS, SAMPLE_PATTERN)


def _files(config: Mapping, directory: str, constants: str, pattern: str) -> list[str]:
    files = [_join(directory, constants)]
    for member in config["members"]:
        for lead in config["lead_times"]:
            files.append(_join(directory, input_file_name(pattern, member, lead)))
    return files


def _join(directory: str, name: str) -> str:
    # Plain string paths, as Snakemake compares them; no normalisation beyond what os.path does.
    return os.path.normpath(os.path.join(directory, name))


# --- outputs, logs, benchmarks ---------------------------------------------------------------------


def product_formats(config: Mapping) -> list[str]:
    """Return the formats of the product files: config ``formats``, with ``netcdf`` first where present.

    The ensemble products and a product that reads another one back (HPBL reads BRN) read NetCDF: where
    such a job runs, NetCDF is written too even if ``formats`` names only ``grib2``. The fan-in files
    themselves: :func:`fanin_formats`.

    Examples
    --------
    >>> product_formats({"formats": ["grib2", "netcdf"]})
    ['netcdf', 'grib2']
    """
    formats = [f for f in ("netcdf", "grib2") if f in (config.get("formats") or ["netcdf"])]
    if "netcdf" not in formats and _netcdf_read_back(config):  # (skipped in the usual case: netcdf given)
        formats.insert(0, "netcdf")
    return formats


def _netcdf_read_back(config: Mapping) -> bool:
    if "ensemble" in config and ensemble_products(config):
        return True
    bundled = bundle_of(config)
    return any(r for p in written_products(config) for r in product_requires(p)
               if bundled.get(r) is None or bundled.get(r) != bundled.get(p))


def output_template(config: Mapping, product: str) -> str:
    """Return the output path of a product with ``{run}``, ``{member}``, ``{lead}`` wildcards: the file of
    its first format (:func:`product_formats`), the one other jobs read.

    Examples
    --------
    >>> output_template({"output_dir": "results"}, "BRN")
    'results/{run}/{member}/{lead}h/BRN.nc'
    """
    formats = product_formats(config) if "formats" in config else ["netcdf"]
    from nwpflow.pipeline import FORMAT_SUFFIXES

    return f"{_strip(config['output_dir'])}/{_job_path(product)}{FORMAT_SUFFIXES[formats[0]]}"


def output_templates(config: Mapping, product: str) -> dict[str, str]:
    """Return ``{format: output path}`` of a product, one file per format of :func:`product_formats`.

    Examples
    --------
    >>> output_templates({"output_dir": "results", "formats": ["netcdf", "grib2"]}, "BRN")
    {'netcdf': 'results/{run}/{member}/{lead}h/BRN.nc', 'grib2': 'results/{run}/{member}/{lead}h/BRN.grib2'}
    """
    formats = product_formats(config) if "formats" in config else ["netcdf"]
    from nwpflow.pipeline import FORMAT_SUFFIXES

    return {f: f"{_strip(config['output_dir'])}/{_job_path(product)}{FORMAT_SUFFIXES[f]}" for f in formats}


def log_template(product: str) -> str:
    """Return the log path of a product's jobs, mirroring :func:`output_template` under ``logs/``.

    Examples
    --------
    >>> log_template("BRN")
    'logs/{run}/{member}/{lead}h/BRN.log'
    """
    return f"{LOG_DIR}/{_job_path(product)}.log"


def benchmark_template(product: str) -> str:
    """Return the Snakemake benchmark path of a product's jobs, under ``logs/benchmarks/``.

    Examples
    --------
    >>> benchmark_template("BRN")
    'logs/benchmarks/{run}/{member}/{lead}h/BRN.tsv'
    """
    return f"{BENCHMARK_DIR}/{_job_path(product)}.tsv"


def _job_path(product: str) -> str:
    return JOB_PATH.replace("{product}", product)


def _strip(path: str) -> str:
    stripped = str(path).rstrip("/")
    return stripped or "/"


def final_outputs(config: Mapping) -> list[str]:
    """Return every file the default target builds: products, then ensemble products, then time products.

    Parameters
    ----------
    config : Mapping
        The validated workflow config.

    Returns
    -------
    list of str
        :func:`product_outputs`, :func:`ensemble_outputs` and :func:`time_outputs`; with
        ``incremental`` only those whose inputs are complete now (:func:`available_inputs`).
    """
    available = available_inputs(config) if config.get("incremental") else None
    return (product_outputs(config, available) + ensemble_outputs(config, available)
            + time_outputs(config, available))


def target_files(config: Mapping) -> list[str]:
    """Return the inputs of rule ``all``: :func:`final_outputs`, with one file per job.

    A job that writes several files (a bundle, the ensemble products of a lead time) is asked for by one
    of them; Snakemake reruns a job when any of its outputs is missing, so the others are made all the
    same. This keeps the number of targets, which Snakemake's DAG building pays for one by one, at the
    number of jobs (an ICON-CH1-EPS day with the catalogue bundled: 7,106 product files, 374 jobs).
    """
    outputs = final_outputs(config)
    run = config["run"]["name"]
    job_of = {}  # path -> the job that writes it, for the files of jobs with several outputs
    for name, products in bundles(config).items():
        for product in products:
            template = output_template(config, product)
            for member in config["members"]:
                for lead in config["lead_times"]:
                    job_of[_format_job(template, config, member, lead)] = (name, member, lead)
    for template in ensemble_lead_outputs(config).values():
        for lead in config["lead_times"]:
            job_of[template.format(run=run, lead=lead_label(lead))] = ("ensemble", lead)
    seen = set()
    targets = []
    for path in outputs:
        job = job_of.get(path)
        if job is None or job not in seen:
            targets.append(path)
            seen.add(job)
    return targets


def product_outputs(config: Mapping, available: set[tuple[int, int]] | None = None) -> list[str]:
    """Return the file of each configured product, member and lead time (product, then member, then lead).

    ``available``: the ``(member, lead)`` pairs to include (default: all).
    """
    outputs = []
    for product in configured_products(config):
        template = output_template(config, product)
        for member in config["members"]:
            for lead in config["lead_times"]:
                if available is None or (member, lead) in available:
                    outputs.append(_format_job(template, config, member, lead))
    return outputs


def _format_job(template: str, config: Mapping, member: int, lead: int) -> str:
    return template.format(run=config["run"]["name"], member=member_label(member), lead=lead_label(lead))


def wildcard_constraints(config: Mapping) -> dict[str, str]:
    """Return regular expressions that match exactly the configured run, members and lead times.

    Examples
    --------
    >>> cfg = {"run": {"name": "sample"}, "members": [0, 2], "lead_times": [0, 33]}
    >>> wildcard_constraints(cfg)
    {'run': 'sample', 'member': '000|002', 'lead': '000|033'}
    """
    return {
        "run": re.escape(config["run"]["name"]),
        "member": "|".join(member_label(m) for m in config["members"]),
        "lead": "|".join(lead_label(h) for h in config["lead_times"]),
    }


def is_activated(config: Mapping, key: str) -> bool:
    """Return whether the optional feature ``key`` (a block with ``activate: bool``) is switched on.

    Examples
    --------
    >>> is_activated({"sample": {"activate": True}}, "sample")
    True
    >>> is_activated({}, "sample")
    False
    """
    block = config.get(key) or {}
    return bool(block.get("activate", False))


def numba_cache_env(config: Mapping) -> dict[str, str]:
    """Return the environment variables that point every job at one shared numba cache.

    Parameters
    ----------
    config : Mapping
        The validated workflow config (``numba_cache_dir``).

    Returns
    -------
    dict
        ``{"NUMBA_CACHE_DIR": <absolute path>}``; absolute, so a job's working directory does not
        matter.
    """
    return {"NUMBA_CACHE_DIR": os.path.abspath(config["numba_cache_dir"])}


# --- products and resources ------------------------------------------------------------------------


def product_names() -> list[str]:
    """Return the names of every registered product, sorted (imports the product registry)."""
    from nwpflow.products import registry

    return sorted(registry)


def product_inputs(product: str) -> tuple[str, ...]:
    """Return the input fields of a registered product (imports the product registry)."""
    from nwpflow.errors import UnknownProductError
    from nwpflow.products import registry

    try:
        return tuple(registry[product].inputs)
    except KeyError:
        raise UnknownProductError(product, list(registry)) from None


def estimate_mem_mb(
    cells: int, levels: int, fields: int, *, safety_factor: float = 4.0, base_mb: int = 1024
) -> int:
    """Estimate the memory, in MB, of a job that holds ``fields`` 3-D float32 fields.

    Parameters
    ----------
    cells : int
        Horizontal points of the domain (ICON cells, or ``nx * ny``).
    levels : int
        Vertical levels.
    fields : int
        Number of 3-D fields the product reads (its inputs); its output counts as one more.
    safety_factor : float
        Multiplier for the temporaries and copies made while reading and computing.
    base_mb : int
        Memory of the Python process itself (interpreter, numba, xarray, ecCodes).

    Returns
    -------
    int
        ``base_mb + ceil(cells * levels * (fields + 1) * 4 B * safety_factor / 2**20)``.

    Examples
    --------
    The 1.15 million cells and 80 levels of ICON-CH1 with 5 inputs:

    >>> estimate_mem_mb(1_147_980, 80, 5)
    9433
    """
    for name, value in (("cells", cells), ("levels", levels), ("fields", fields)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of 1 or more, got {value!r}")
    if not safety_factor >= 1:
        raise ValueError(f"safety_factor must be 1 or more, got {safety_factor!r}")
    field_bytes = cells * levels * 4  # float32
    return int(base_mb) + math.ceil(field_bytes * (fields + 1) * safety_factor / 2**20)


def domain_size(config: Mapping) -> tuple[int, int]:
    """Return the domain's ``(cells, levels)`` used for memory estimates.

    With ``sample.activate`` the sample preset's grid (ICON ``ncells``, or COSMO ``nx * ny``) and
    ``nlev``; otherwise ``domain.cells`` and ``domain.levels``.
    """
    if is_activated(config, "sample"):
        from nwpflow.io.sample import IconGrid

        preset = _preset(config["sample"]["preset"])
        grid = preset.grid
        cells = grid.ncells if isinstance(grid, IconGrid) else grid.nx * grid.ny
        return int(cells), int(preset.nlev)
    return int(config["domain"]["cells"]), int(config["domain"]["levels"])


def product_mem_mb(config: Mapping, product: str) -> int:
    """Return the ``mem_mb`` resource of one job of ``product``, from the domain size and its inputs."""
    cells, levels = domain_size(config)
    res = config["resources"]
    return estimate_mem_mb(
        cells,
        levels,
        len(product_inputs(product)) + len(product_requires(product)),
        safety_factor=res["mem_safety_factor"],
        base_mb=res["mem_base_mb"],
    )


# --- the product set, products of products, bundles -----------------------------------------------


def configured_products(config: Mapping) -> list[str]:
    """Return the configured products: ``products`` as listed, or every registered product for ``all``.

    Examples
    --------
    >>> configured_products({"products": ["BRN"]})
    ['BRN']
    """
    products = config["products"]
    if products == "all":
        return product_names()
    return list(products)


def required_products(products: Sequence[str]) -> list[str]:
    """Return ``products`` and every product they require (registry ``requires``), requirements first."""
    from nwpflow.products import registry

    ordered: dict[str, None] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ConfigError("products", f"products require each other in a cycle: {' -> '.join((*path, name))}")
        if name in ordered:
            return
        for required in registry[name].requires:
            visit(required, (*path, name))
        ordered[name] = None

    for product in products:
        visit(product, ())
    return list(ordered)


def written_products(config: Mapping) -> list[str]:
    """Return every product the workflow writes files of: the configured ones and those they require."""
    return required_products(configured_products(config))


def bundles(config: Mapping) -> dict[str, list[str]]:
    """Return the bundles, ``{name: [product, ...]}`` (config ``bundles``), with ``all`` resolved.

    A bundle given as ``all`` holds every written product (:func:`written_products`) that no other
    bundle lists; a bundle given as ``none`` or ``[]`` (switched off), or left empty, is dropped.

    Examples
    --------
    >>> bundles({"products": ["BRN"], "bundles": {"catalogue": "all"}})
    {'catalogue': ['BRN']}
    """
    given = {name: products for name, products in (config.get("bundles") or {}).items()
             if products not in ("none", None)}
    listed = {product for products in given.values() if products != "all" for product in products}
    result = {}
    for name, products in given.items():
        if products == "all":
            products = [p for p in written_products(config) if p not in listed]
        if products:
            result[name] = list(products)
    return result


def bundle_of(config: Mapping) -> dict[str, str]:
    """Return ``{product: bundle name}`` for every product in a bundle."""
    return {product: name for name, products in bundles(config).items() for product in products}


def rule_products(config: Mapping) -> list[str]:
    """Return the products that get their own rule: every written product that is in no bundle (a
    bundled product is made by its bundle's rule only, so that no output has two rules)."""
    bundled = bundle_of(config)
    return [product for product in written_products(config) if product not in bundled]


def product_requires(product: str) -> tuple[str, ...]:
    """Return the products ``product`` consumes (registry ``requires``)."""
    from nwpflow.products import registry

    return tuple(registry[product].requires)


def required_files(config: Mapping, products: Sequence[str], member: int, lead: int) -> list[str]:
    """Return the files of the products that ``products`` require but do not compute themselves.

    A product job (or a bundle) reads a required product back from its file, which its own rule (or
    bundle) writes, instead of computing it again: HPBL's job reads BRN.nc. Requirements computed in the
    same bundle are not files.
    """
    inside = set(products)
    needed = []
    for product in products:
        for required in product_requires(product):
            if required not in inside and required not in needed:
                needed.append(required)
    return [_format_job(output_template(config, p), config, member, lead) for p in needed]


def product_options(config: Mapping, product: str) -> dict:
    """Return the configured options of ``product`` (``product_options``), ``{}`` where none are set."""
    return dict((config.get("product_options") or {}).get(product) or {})


def bundle_log_template(name: str) -> str:
    """Return the log path of a bundle's jobs.

    Examples
    --------
    >>> bundle_log_template("thermo")
    'logs/{run}/{member}/{lead}h/bundle_thermo.log'
    """
    return log_template(f"bundle_{name}")


def bundle_benchmark_template(name: str) -> str:
    """Return the Snakemake benchmark path of a bundle's jobs."""
    return benchmark_template(f"bundle_{name}")


# --- ensemble products -----------------------------------------------------------------------------

ENSEMBLE_LABEL = "ensemble"
"""Folder that takes the member's place in the paths of ensemble products."""

TIME_LABEL = "time"
"""Folder that takes the lead time's place in the paths of time products."""


def ensemble_members(config: Mapping) -> list[int]:
    """Return the members the ensemble products combine: all configured ones (empty if fewer than 2)."""
    members = list(config["members"])
    return members if len(members) >= 2 else []


def ensemble_products(config: Mapping) -> list[str]:
    """Return the products combined over members, one file per lead time (``ensemble.products``)."""
    block = config.get("ensemble") or {}
    if not block.get("activate", False) or not ensemble_members(config):
        return []
    chosen = block.get("products", "all")
    configured = configured_products(config)
    if chosen == "all":
        return configured
    return [p for p in chosen if p in configured]


def ensemble_time_products(config: Mapping) -> list[str]:
    """Return the time products combined over members, one file per time product (``ensemble.products``)."""
    block = config.get("ensemble") or {}
    if not block.get("activate", False) or not ensemble_members(config):
        return []
    chosen = block.get("products", "all")
    names = list(time_products(config))
    if chosen == "all":
        return names
    return [n for n in chosen if n in names]


def ensemble_template(config: Mapping) -> str:
    """Return the output path of an ensemble product, with ``{run}``, ``{lead}``, ``{product}`` wildcards.

    Examples
    --------
    >>> ensemble_template({"output_dir": "results"})
    'results/{run}/ensemble/{lead}h/{product}.nc'
    """
    return f"{_strip(config['output_dir'])}/{{run}}/{ENSEMBLE_LABEL}/{{lead}}h/{{product}}.nc"


def ensemble_time_template(config: Mapping) -> str:
    """Return the output path of the ensemble statistics of a time product (wildcards ``{run}``, ``{name}``).

    Examples
    --------
    >>> ensemble_time_template({"output_dir": "results"})
    'results/{run}/ensemble/time/{name}.nc'
    """
    return f"{_strip(config['output_dir'])}/{{run}}/{ENSEMBLE_LABEL}/{TIME_LABEL}/{{name}}.nc"


def ensemble_outputs(config: Mapping, available: set[tuple[int, int]] | None = None) -> list[str]:
    """Return the ensemble products' files: every ensemble product and lead time, then every time product.

    With ``available``, a lead time only where every member's input of it is complete, and a time
    product only where every member's inputs of every lead time are.
    """
    members = ensemble_members(config)
    run = config["run"]["name"]
    outputs = []
    template = ensemble_template(config)
    for product in ensemble_products(config):
        for lead in config["lead_times"]:
            if available is None or all((m, lead) in available for m in members):
                outputs.append(template.format(run=run, lead=lead_label(lead), product=product))
    complete = available is None or all((m, t) in available for m in members for t in config["lead_times"])
    if complete:
        template = ensemble_time_template(config)
        outputs.extend(template.format(run=run, name=name) for name in ensemble_time_products(config))
    return outputs


def fanin_formats(config: Mapping) -> list[str]:
    """Return the formats of the fan-in files (ensemble and time products): NetCDF, the file other jobs
    read and the targets name, and GRIB2 too where config ``formats`` holds it.

    Examples
    --------
    >>> fanin_formats({"formats": ["grib2"]}), fanin_formats({})
    (['netcdf', 'grib2'], ['netcdf'])
    """
    return ["netcdf", *(["grib2"] if "grib2" in (config.get("formats") or []) else [])]


def fanin_output_templates(config: Mapping, template: str) -> dict[str, str]:
    """Return ``{format: path}`` of a fan-in file whose NetCDF path is ``template`` (:func:`fanin_formats`).

    Examples
    --------
    >>> fanin_output_templates({"formats": ["netcdf", "grib2"]}, "r/{run}/ensemble/time/{name}.nc")
    {'netcdf': 'r/{run}/ensemble/time/{name}.nc', 'grib2': 'r/{run}/ensemble/time/{name}.grib2'}
    """
    from nwpflow.pipeline import FORMAT_SUFFIXES

    stem = template[: -len(".nc")] if template.endswith(".nc") else template
    return {f: stem + FORMAT_SUFFIXES[f] for f in fanin_formats(config)}


def grib_template_inputs(config: Mapping, member: int | None = None) -> list[str]:
    """Return the run's GRIB files a fan-in job takes its GRIB2 grid from (none without ``grib2`` output):
    the constants file, and with ``member`` that member's model file of the first lead time (its
    ensemble keys, for template 11).

    Examples
    --------
    >>> cfg = {"sample": {"activate": True, "directory": "s"}, "formats": ["grib2"], "lead_times": [0, 1]}
    >>> grib_template_inputs(cfg), grib_template_inputs(cfg, 1)
    (['s/lfff00000000c'], ['s/001/lfff00000000', 's/lfff00000000c'])
    >>> grib_template_inputs({**cfg, "formats": ["netcdf"]})
    []
    """
    if "grib2" not in fanin_formats(config):
        return []
    directory, constants, _ = input_layout(config)
    if member is None:
        return [_join(directory, constants)]
    return job_inputs(config, member, min(config["lead_times"]))


def ensemble_lead_outputs(config: Mapping) -> dict[str, str]:
    """Return ``{product: path with {run} and {lead}}`` of the ensemble products one job per lead time
    writes (rule ``ensemble_products``)."""
    template = ensemble_template(config)
    return {product: template.replace("{product}", product) for product in ensemble_products(config)}


def ensemble_lead_inputs(config: Mapping, run: str, lead: str) -> dict[str, list[str]]:
    """Return ``{product: [file of each member]}`` of the ensemble products of one lead time."""
    members = ensemble_members(config)
    return {product: [output_template(config, product).format(run=run, member=member_label(m), lead=lead)
                      for m in members]
            for product in ensemble_products(config)}


def ensemble_thresholds(config: Mapping, product: str) -> list[float]:
    """Return the exceedance thresholds configured for ``product`` (a product or time product name)."""
    return [float(v) for v in ((config.get("ensemble") or {}).get("thresholds") or {}).get(product, [])]


# --- time products ---------------------------------------------------------------------------------

TIME_SHORT = {"accumulation": "sum", "max": "max", "min": "min", "mean": "mean"}
"""The kind of a time product as its name spells it (as ``nwpflow.products.fanin.time_variable_name``)."""


def time_product_name(field: str, kind: str, window: int) -> str:
    """Return the name of a time product (its file and variable name) for a window in whole hours.

    Examples
    --------
    >>> time_product_name("TOT_PREC", "accumulation", 3)
    'TOT_PREC_sum_3h'
    """
    return f"{field}_{TIME_SHORT[kind]}_{int(window)}h"


def time_products(config: Mapping, *, covered_only: bool = True) -> dict[str, tuple[str, str, int]]:
    """Return the time products, ``{name: (field, kind, window)}``, from ``time_statistics.fields``.

    A window of ``W`` hours ending at lead time ``t`` needs the lead times ``t`` and ``t - W``; a time
    product whose window no pair of configured lead times spans is left out (``covered_only``).

    Examples
    --------
    >>> cfg = {"lead_times": [0, 1, 2, 3], "time_statistics": {"activate": True, "fields": [
    ...     {"field": "TOT_PREC", "kind": "accumulation", "windows": [1, 3, 24]}]}}
    >>> time_products(cfg)
    {'TOT_PREC_sum_1h': ('TOT_PREC', 'accumulation', 1), 'TOT_PREC_sum_3h': ('TOT_PREC', 'accumulation', 3)}
    """
    block = config.get("time_statistics") or {}
    if not block.get("activate", False):
        return {}
    leads = set(config["lead_times"])
    result = {}
    for entry in block.get("fields") or []:
        for window in entry["windows"]:
            if covered_only and not any(t - window in leads for t in leads):
                continue
            result[time_product_name(entry["field"], entry["kind"], window)] = (entry["field"], entry["kind"], int(window))
    return result


def time_template(config: Mapping) -> str:
    """Return the output path of a time product, with ``{run}``, ``{member}`` and ``{name}`` wildcards.

    Examples
    --------
    >>> time_template({"output_dir": "results"})
    'results/{run}/{member}/time/{name}.nc'
    """
    return f"{_strip(config['output_dir'])}/{{run}}/{{member}}/{TIME_LABEL}/{{name}}.nc"


def time_outputs(config: Mapping, available: set[tuple[int, int]] | None = None) -> list[str]:
    """Return every time product's file, member by member (with ``available``: only members whose
    inputs of every lead time are complete)."""
    template = time_template(config)
    outputs = []
    names = list(time_products(config))
    for member in config["members"]:
        if available is not None and not all((member, t) in available for t in config["lead_times"]):
            continue
        outputs.extend(template.format(run=config["run"]["name"], member=member_label(member), name=name)
                       for name in names)
    return outputs


def time_inputs(config: Mapping, name: str, member: int) -> list[str]:
    """Return the input files of a time product of one member: the field at every lead time, in order.

    A field of the model files (TOT_PREC, T_2M, ...) is read from the model's files of each lead time;
    a product from its product files.
    """
    field, _, _ = time_products(config)[name]
    leads = sorted(config["lead_times"])
    if field in written_products(config):
        template = output_template(config, field)
        return [_format_job(template, config, member, lead) for lead in leads]
    return [job_inputs(config, member, lead)[0] for lead in leads]


# --- incremental runs: which inputs are complete ---------------------------------------------------


def grib_complete(path: str | os.PathLike) -> bool:
    """Return whether a file is a sequence of whole GRIB messages (each one's length reaches its ``7777``).

    A model writing the file leaves it truncated inside a message, which this detects without decoding
    anything (a few bytes read per message). GRIB 1 messages, whose length field may be a scaled one,
    are checked with ecCodes (:func:`nwpflow.io.grib.scan`). Up to 4 trailing bytes are allowed, as
    the reader allows them.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     _ = f.write(b"GRIB" + bytes(3) + bytes([2]) + (24).to_bytes(8, "big") + bytes(4) + b"7777")
    ...     f.flush()
    ...     grib_complete(f.name)
    True
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            offset = 0
            while size - offset > 4:
                f.seek(offset)
                head = f.read(16)
                if len(head) < 16 or head[:4] != b"GRIB":
                    return False
                if head[7] == 1:
                    return _grib1_complete(path)
                if head[7] != 2:
                    return False
                length = int.from_bytes(head[8:16], "big")
                if length < 20 or offset + length > size:
                    return False
                f.seek(offset + length - 4)
                if f.read(4) != b"7777":
                    return False
                offset += length
            return offset > 0
    except OSError:
        return False


def _grib1_complete(path) -> bool:
    from nwpflow.errors import InputError
    from nwpflow.io import grib

    try:
        grib.release(grib.scan(path))
    except InputError:
        return False
    return True


def input_complete(path: str, *, marker: str | None = None, min_age_s: float = 0, now: float | None = None) -> bool:
    """Return whether one input file is complete: it exists, is unchanged for ``min_age_s`` seconds, its
    ``marker`` file (if any) exists, and, for GRIB, it is a sequence of whole messages."""
    try:
        stat = os.stat(path)
    except OSError:
        return False
    if marker and not os.path.exists(marker):
        return False
    if min_age_s and (now if now is not None else time.time()) - stat.st_mtime < min_age_s:
        return False
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"GRIB":
        return grib_complete(path)
    return stat.st_size > 0


def available_inputs(config: Mapping) -> set[tuple[int, int]]:
    """Return the ``(member, lead)`` pairs whose input files are complete now (config ``incremental``).

    A pair counts when its model file and the constants file are complete (:func:`input_complete` with
    ``run.ready_pattern`` and ``run.min_age_s``). With ``sample.activate`` every pair counts: the
    workflow writes the sample itself.
    """
    pairs = {(m, t) for m in config["members"] for t in config["lead_times"]}
    if is_activated(config, "sample"):
        return pairs
    directory, constants, pattern = input_layout(config)
    run = config["run"]
    min_age = run.get("min_age_s", 0)
    now = time.time()
    if not input_complete(_join(directory, constants), min_age_s=min_age, now=now):
        return set()
    ready = run.get("ready_pattern") or ""
    result = set()
    for member, lead in pairs:
        path = _join(directory, input_file_name(pattern, member, lead))
        marker = _join(directory, input_file_name(ready, member, lead)) if ready else None
        if input_complete(path, marker=marker, min_age_s=min_age, now=now):
            result.add((member, lead))
    return result


# --- the shared numba cache ------------------------------------------------------------------------


def package_fingerprint() -> str:
    """Return a short hash of what numba's cache entries depend on: nwpflow's source files (path, size,
    modification time: numba's own staleness test) and the numba and Python versions.

    Any change gives a new warm-up stamp (:func:`warm_stamp`), so rule ``warm_cache`` runs again.
    """
    import hashlib
    from importlib import metadata

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    digest.update(f"numba {metadata.version('numba')} python {sys.version_info[:3]}".encode())
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def warm_stamp(config: Mapping) -> str:
    """Return the file rule ``warm_cache`` writes once it has compiled every kernel into the cache.

    It lies in the cache folder and is named after :func:`package_fingerprint`, so that a new cache
    folder, changed kernels or another numba get a new warm-up.
    """
    return _join(config["numba_cache_dir"], f"nwpflow-warm-{package_fingerprint()}.done")


# --- memory estimates beyond one product ----------------------------------------------------------


def _mem(config: Mapping, levels: int, fields: int) -> int:
    cells, _ = domain_size(config)
    res = config["resources"]
    return estimate_mem_mb(cells, max(1, levels), max(1, fields), safety_factor=res["mem_safety_factor"],
                           base_mb=res["mem_base_mb"])


def bundle_mem_mb(config: Mapping, products: Sequence[str]) -> int:
    """Return the ``mem_mb`` of one bundle job: every distinct input field, required product and output
    held at once (3-D fields counted throughout)."""
    from nwpflow.products import fields_needed

    _, levels = domain_size(config)
    inside = set(products)
    outside = {r for p in products for r in product_requires(p) if r not in inside}
    fields = set(fields_needed(list(products), available=outside))
    computed = set(required_products(list(products))) - outside
    # estimate_mem_mb counts one output; the others and the in-graph requirements come on top
    return _mem(config, levels, len(fields) + len(computed) - 1)


def ensemble_mem_mb(config: Mapping) -> int:
    """Return the ``mem_mb`` of one ensemble job: every member's field and the statistics, 3-D."""
    _, levels = domain_size(config)
    block = config.get("ensemble") or {}
    outputs = len(block.get("statistics", [])) + len(block.get("quantiles", [])) + 4
    return _mem(config, levels, len(ensemble_members(config)) + outputs)


def time_mem_mb(config: Mapping, name: str) -> int:
    """Return the ``mem_mb`` of one job of time product ``name``: the field at every lead time and the
    windows (a surface field of the model files on one level, a product or model-level field on all)."""
    from nwpflow.io.datamodel import FIELDS, SURFACE

    field = time_products(config, covered_only=False)[name][0]
    _, levels = domain_size(config)
    info = FIELDS.get(field)
    if field not in written_products(config) and info is not None and info.vertical == SURFACE:
        levels = 1
    return _mem(config, levels, 2 * len(config["lead_times"]))


# --- config: command-line values and checks beyond the JSON schema --------------------------------


def load_schema(path: str | os.PathLike) -> dict:
    """Return the config's JSON schema, read from YAML (``config/schema.yaml``)."""
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def coerce_config(config: dict, schema: Mapping) -> dict:
    """Convert, in place, strings from ``snakemake --config`` to the types the schema asks for.

    ``snakemake --config members=[0,1]`` reads the values of lists and mappings as strings
    (``['0', '1']``); this turns a string into an int, a float or a bool where the schema says
    ``integer``, ``number`` or ``boolean`` and the string spells one exactly, so the JSON-schema
    validation that follows sees the intended types. Anything else is left for the validation to
    report.

    Parameters
    ----------
    config : dict
        The workflow config, changed in place.
    schema : Mapping
        The config's JSON schema (``config/schema.yaml``), with local ``$ref`` to ``#/$defs/...``.

    Returns
    -------
    dict
        ``config``.

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"members": {"type": "array", "items": {"type": "integer"}}}}
    >>> coerce_config({"members": ["0", "2"]}, schema)
    {'members': [0, 2]}
    """
    defs = schema.get("$defs", {})

    def resolve(sub: Mapping) -> Mapping:
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return defs[ref.removeprefix("#/$defs/")]
        return sub

    def convert(value, sub: Mapping):
        sub = resolve(sub)
        kinds = sub.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if isinstance(value, dict) and "object" in kinds:
            props = sub.get("properties", {})
            extra = sub.get("additionalProperties")
            for key in value:
                if key in props:
                    value[key] = convert(value[key], props[key])
                elif isinstance(extra, Mapping):
                    value[key] = convert(value[key], extra)
            return value
        if isinstance(value, list) and "array" in kinds and "items" in sub:
            return [convert(v, sub["items"]) for v in value]
        if not isinstance(value, str):
            return value
        text = value.strip()
        if "integer" in kinds and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if "number" in kinds and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return float(text)
        if "boolean" in kinds and text.lower() in ("true", "false"):
            return text.lower() == "true"
        return value

    return convert(config, schema)


# --- config checks beyond the JSON schema ----------------------------------------------------------

KEY_HINTS: dict[str, str] = {
    "leadtimes": "to target only the lead times whose input files are complete, use incremental=true",
    "lead_time": "the lead times are `lead_times`",
    "member": "the members are `members`",
    "format": "the output formats are `formats`",
}
"""Hints for top-level keys users are likely to try, shown with the error for an unknown key."""


def check_known_keys(config: Mapping, schema: Mapping) -> None:
    """Reject a top-level key the schema does not define, naming it and the allowed keys (and, for a
    likely misspelling, the key meant: :data:`KEY_HINTS`); run before the JSON-schema validation, whose
    message for an unknown key names neither.

    Raises
    ------
    ConfigError
    """
    allowed = list(schema.get("properties", {}))
    for key in config:
        if key not in allowed:
            hint = f"; {KEY_HINTS[key]}" if key in KEY_HINTS else ""
            raise ConfigError(key, f"unknown key{hint}; allowed keys: {', '.join(allowed)}")



def check_config(config: Mapping) -> None:
    """Check what the JSON schema cannot: product names against the registry, the sample preset
    against ``nwpflow.io.sample.PRESETS`` and, for a real run, the file-name pattern.

    Raises
    ------
    ConfigError
        Naming the key and the allowed values.
    """
    known = product_names()
    if config["products"] != "all":
        if isinstance(config["products"], str):
            raise ConfigError("products", f"{config['products']!r}: give `all` or a list of products ({', '.join(known)})")
        for product in config["products"]:
            if product not in known:
                raise ConfigError("products", f"unknown product {product!r}; allowed values: all, {', '.join(known)}")
    _check_product_options(config, known)
    _check_bundles(config)
    _check_time_statistics(config)
    _check_ensemble(config)
    if is_activated(config, "sample"):
        _preset(config["sample"]["preset"])
    else:
        input_file_name(config["run"]["pattern"], config["members"][0], config["lead_times"][0])


def _check_product_options(config: Mapping, known: list[str]) -> None:
    from nwpflow.errors import OptionError
    from nwpflow.products import registry

    options = config.get("product_options") or {}
    for product, given in options.items():
        if product not in known:
            raise ConfigError("product_options", f"unknown product {product!r}; allowed values: {', '.join(known)}")
        if not isinstance(given, Mapping):
            raise ConfigError(f"product_options.{product}", f"{given!r} is not a mapping {{option: value}}")
        entry = registry[product]
        for name, value in list(given.items()):
            key = f"product_options.{product}.{name}"
            if name not in entry.options:
                accepted = ", ".join(sorted(entry.options)) or "none"
                raise ConfigError(key, f"{product} has no option {name!r}; allowed options: {accepted}")
            given[name] = _coerce_option(value, entry.options[name].default)
            try:
                entry.resolve_options({name: given[name]})
            except OptionError as error:
                choices = entry.options[name].choices
                allowed = f"; allowed values: {', '.join(map(repr, choices))}" if choices else ""
                raise ConfigError(key, f"{error}{allowed}") from None


def _coerce_option(value, default):
    """A product option from ``snakemake --config`` arrives as text: read it as YAML where the option's
    default is not text (numbers, booleans, lists of numbers)."""
    import yaml

    if isinstance(value, str) and not isinstance(default, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    if isinstance(value, list) and isinstance(default, (list, tuple)):
        inner = default[0] if default else 0.0
        value = [_coerce_option(v, inner) for v in value]
        return tuple(value) if isinstance(default, tuple) else value
    return value


def _check_bundles(config: Mapping) -> None:
    written = written_products(config)
    seen: dict[str, str] = {}
    given = config.get("bundles") or {}
    if sum(products == "all" for products in given.values()) > 1:
        raise ConfigError("bundles", "only one bundle can be `all`")
    for name, products in given.items():
        key = f"bundles.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            raise ConfigError("bundles", f"bundle name {name!r}: use lower-case letters, digits and '_'")
        if products in ("all", "none", None):
            continue
        if not isinstance(products, list):
            raise ConfigError(key, f"{products!r}: give `all`, `none` or a list of products ({', '.join(written)})")
        for product in products:
            if product not in written:
                raise ConfigError(key, f"product {product!r} is not computed by this config; allowed values: "
                                       f"{', '.join(written)}")
            if product in seen:
                raise ConfigError(key, f"product {product!r} is already in bundle {seen[product]!r}")
            seen[product] = name


def _check_time_statistics(config: Mapping) -> None:
    from nwpflow.io.datamodel import FIELDS

    allowed = [*written_products(config), *FIELDS]
    block = config.get("time_statistics") or {}
    for i, entry in enumerate(block.get("fields") or []):
        if entry["field"] not in allowed:
            raise ConfigError(f"time_statistics.fields[{i}].field",
                              f"unknown field {entry['field']!r}; allowed values: {', '.join(allowed)}")


def _check_ensemble(config: Mapping) -> None:
    block = config.get("ensemble") or {}
    allowed = [*configured_products(config), *time_products(config, covered_only=False)]
    chosen = block.get("products", "all")
    if isinstance(chosen, str) and chosen != "all":
        raise ConfigError("ensemble.products", f"{chosen!r}: give `all` or a list of {', '.join(allowed)}")
    if isinstance(chosen, list):
        for name in chosen:
            if name not in allowed:
                raise ConfigError("ensemble.products", f"unknown product {name!r}; allowed values: {', '.join(allowed)}")
    # Thresholds may name products or time products this config does not compute (they are unused then),
    # but not names that could never be one.
    from nwpflow.io.datamodel import FIELDS

    fields = "|".join(re.escape(f) for f in [*product_names(), *FIELDS])
    possible = re.compile(rf"({fields})(_({'|'.join(TIME_SHORT.values())})_\d+h)?")
    for name in block.get("thresholds") or {}:
        if name not in allowed and not possible.fullmatch(name):
            raise ConfigError("ensemble.thresholds", f"unknown product {name!r}; allowed values: {', '.join(allowed)}")


def _preset(name: str):
    """Return the sample preset ``name`` (imports ``nwpflow.io.sample``)."""
    from nwpflow.io.sample import PRESETS

    if name not in PRESETS:
        raise ConfigError("sample.preset", f"unknown preset {name!r}; allowed values: {', '.join(PRESETS)}")
    return PRESETS[name]


# --- the jobs --------------------------------------------------------------------------------------


def _setup_logging() -> None:
    # The scripts point sys.stderr at the job's log first; basicConfig's handler writes to sys.stderr.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )


def _skip_xarray_dask_probe() -> None:
    """Tell xarray that this process holds no dask arrays, before it imports ``dask.array`` to find out.

    xarray asks whether an array is a dask array each time it wraps one (``as_compatible_data``), and
    the first time it imports ``dask.array`` for the class to compare with; with scipy installed that
    also imports ``scipy.fft`` (through ``dask.array.fft``): 0.3-0.9 s of every job's start-up, measured
    (docs/benchmarks.md). nwpflow's jobs never make dask arrays (a bundle's graph is ``dask.delayed``
    over numpy-backed objects), so a job records the answer, "no dask array type", in xarray's cache of
    duck-array modules. Nothing is recorded where ``dask.array`` is imported already, so xarray still
    recognises dask arrays in a process that uses them.
    """
    if "dask.array" in sys.modules:
        return
    from xarray.namedarray import pycompat

    if "dask" in pycompat._cached_duck_array_modules:
        return
    absent = object.__new__(pycompat.DuckArrayModule)
    absent.module, absent.version, absent.type, absent.available = None, pycompat.Version("0"), (), False
    pycompat._cached_duck_array_modules["dask"] = absent


@contextlib.contextmanager
def _job() -> Iterator[None]:
    """The frame of every job function: stderr (and descriptor 2) to the job's log, logging set up,
    xarray's dask probe skipped (:func:`_skip_xarray_dask_probe`)."""
    with _job_stderr():
        _setup_logging()
        _skip_xarray_dask_probe()
        yield


def end_job_process() -> None:
    """End a job's process at once, after a job function returned: flush the logs and standard
    streams, then ``os._exit(0)``.

    The scripts call it last. A normal interpreter exit tears down every module (numba, llvmlite,
    xarray, pandas, ecCodes), which costs 0.2-0.6 s per job, measured (docs/benchmarks.md), and does
    nothing a finished job needs: every output was written, closed and renamed into place before the job
    function returned. A failing job never gets here: its exception ends the process the usual way,
    with the traceback in its log.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


@contextlib.contextmanager
def _job_stderr() -> Iterator[None]:
    """Point file descriptor 2 at ``sys.stderr`` (the job's log) while a job runs.

    The scripts point ``sys.stderr`` at the job's log, which catches Python's messages only; ecCodes
    and numba write to descriptor 2, which Snakemake's own stderr holds. Nothing is redirected where
    ``sys.stderr`` has no file descriptor of its own (e.g. under pytest's capture).
    """
    try:
        sys.stderr.flush()
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    saved = None
    if fd != 2:
        saved = os.dup(2)
        os.dup2(fd, 2)
    try:
        yield
    finally:
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_sample_job(
    directory: str | os.PathLike,
    *,
    preset: str,
    members: Sequence[int],
    lead_times: Sequence[int],
    expected: Sequence[str | os.PathLike] = (),
) -> list[Path]:
    """Write the embedded sample run (rule ``sample``) and check it holds the expected files.

    Parameters
    ----------
    directory : path-like
        Folder to write the sample run into.
    preset : str
        Sample preset name (``nwpflow.io.sample.PRESETS``).
    members, lead_times : sequence of int
        Members and lead times (hours) to write.
    expected : sequence of path-like
        Files the rule declares as outputs; each must exist afterwards.

    Returns
    -------
    list of Path
        The files ``write_sample`` wrote.
    """
    from nwpflow.io.sample import write_sample

    with _job():
        start = time.perf_counter()
        logger.info("writing sample preset %r, members %s, lead times %s h into %s",
                    preset, list(members), list(lead_times), directory)
        written = write_sample(directory, preset=preset, members=list(members), lead_times=list(lead_times))
        missing = [str(p) for p in expected if not Path(p).is_file()]
        if missing:
            raise FileNotFoundError(f"write_sample did not write {', '.join(missing)} (it wrote {written})")
        logger.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
    return written


def run_product_job(
    product: str,
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    threads: int = 1,
    options: Mapping | None = None,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
) -> Path:
    """Compute one product from one member and lead time and write it in each format (rules ``products.smk``).

    Parameters
    ----------
    product : str
        Product name in the registry, e.g. ``"BRN"``.
    inputs : sequence of path-like
        The model-output file and the constants file.
    output : path-like
        File to write (NetCDF, or GRIB2 for a ``.grib2`` path); with ``formats``, one file per format: the
        path with each format's suffix.
    threads : int
        numba threads.
    options : Mapping, optional
        Options of the product, ``{option: value}`` (see ``nwpflow.products.registry``).
    formats, grib2 : optional
        Config ``formats`` and ``grib2`` (:func:`nwpflow.pipeline.compute_products`); ``None``: the format
        of ``output`` (its suffix), and ecCodes' IEEE packing.

    Returns
    -------
    Path
        The file written.
    """
    from nwpflow.pipeline import compute_products

    with _job():
        start = time.perf_counter()
        logger.info("computing %s from %s with %d threads (NUMBA_CACHE_DIR=%s)",
                    product, [str(p) for p in inputs], threads, os.environ.get("NUMBA_CACHE_DIR"))
        written = compute_products(
            [product],
            [str(p) for p in inputs],
            outputs={product: str(output)},
            options={product: dict(options)} if options else None,
            threads=threads,
            formats=formats,
            grib2=grib2,
        )
        logger.info("wrote %s in %.1f s", written[product], time.perf_counter() - start)
        _log_cache_use()
    return Path(written[product])


def _log_cache_use() -> None:
    from nwpflow.kernels import _cache

    logger.info("numba kernels: %s (NUMBA_CACHE_DIR=%s)", _cache.report(), os.environ.get("NUMBA_CACHE_DIR"))


def run_bundle_job(
    products: Sequence[str],
    inputs: Sequence[str | os.PathLike],
    outputs: Mapping[str, str | os.PathLike],
    *,
    threads: int = 1,
    options: Mapping[str, Mapping] | None = None,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
) -> dict[str, Path]:
    """Compute a bundle of products of one member and lead time as one dask.delayed graph (rules
    ``bundle_*``; :func:`nwpflow.bundle.compute_bundle`).

    Parameters
    ----------
    products : sequence of str
        The bundle's products.
    inputs : sequence of path-like
        The model-output file, the constants file and the files of required products outside the bundle.
    outputs : Mapping
        Product -> NetCDF file to write.
    threads : int
        Cores of the job (decoding threads, then dask workers x numba threads).
    options : Mapping, optional
        ``{product: {option: value}}``.
    formats, grib2 : optional
        As :func:`run_product_job`.
    """
    from nwpflow.bundle import compute_bundle

    with _job():
        start = time.perf_counter()
        logger.info("bundle %s from %s with %d threads", list(products), [str(p) for p in inputs], threads)
        written = compute_bundle(list(products), [str(p) for p in inputs], dict(outputs),
                                 options={k: dict(v) for k, v in (options or {}).items() if v}, threads=threads,
                                 formats=formats, grib2=grib2)
        logger.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
        _log_cache_use()
    return written


def run_ensemble_job(
    inputs: Mapping[str, Sequence[str | os.PathLike]],
    outputs: Mapping[str, str | os.PathLike],
    *,
    statistics: Sequence[str],
    quantiles: Sequence[float],
    thresholds: Mapping[str, Sequence[float]],
    threads: int = 1,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    template: Sequence[str | os.PathLike] = (),
) -> dict[str, Path]:
    """Combine products over the members, one file of ensemble statistics per product (rules
    ``ensemble_products``, one job per lead time for every product, and ``ensemble_time_product``;
    :func:`nwpflow.products.fanin.compute_ensemble_products`).

    Parameters
    ----------
    inputs : Mapping
        ``{product: [its file of each member]}``.
    outputs : Mapping
        ``{product: file to write}``.
    statistics, quantiles : sequence
        As ``compute_ensemble_products``.
    thresholds : Mapping
        ``{product: [threshold, ...]}``; products not in it get no probabilities.
    threads : int
        numba threads.
    formats, grib2 : optional
        Config ``formats`` and ``grib2``: each output is written in every format (its path with each
        format's suffix); ``None``: the format of each output.
    template : sequence of path-like
        The run's GRIB files GRIB2 output takes its grid from (:func:`grib_template_inputs`).
    """
    from nwpflow.products.fanin import compute_ensemble_products

    grib_template = None
    if formats and "grib2" in formats:
        from nwpflow.io.grib_writer import GribTemplate

        grib_template = GribTemplate.from_files([str(p) for p in template])  # once for every product

    written = {}
    with _job():
        start = time.perf_counter()
        logger.info("ensemble statistics %s, quantiles %s of %s", list(statistics), list(quantiles), list(outputs))
        for product, output in outputs.items():
            written[product] = Path(compute_ensemble_products(
                [str(p) for p in inputs[product]], str(output), list(statistics), list(quantiles),
                list(thresholds.get(product, [])), threads=threads, formats=formats, grib2=grib2,
                template=grib_template))
        logger.info("wrote %d files in %.1f s", len(written), time.perf_counter() - start)
        _log_cache_use()
    return written


def run_time_job(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    field: str,
    kind: str,
    window: int,
    lead_times: Sequence[int],
    threads: int = 1,
    formats: Sequence[str] | None = None,
    grib2: Mapping | None = None,
    template: Sequence[str | os.PathLike] = (),
) -> Path:
    """Compute one time product of one member from the field at every lead time (rule ``time``;
    :func:`nwpflow.products.fanin.compute_time_products`). ``window`` and ``lead_times`` in hours;
    ``formats``, ``grib2``, ``template`` as :func:`run_ensemble_job` (default template: the GRIB inputs)."""
    from nwpflow.products.fanin import compute_time_products

    with _job():
        start = time.perf_counter()
        logger.info("%s of %s over %d h windows from %d files", kind, field, window, len(inputs))
        written = compute_time_products([str(p) for p in inputs], str(output), field, kind, int(window),
                                        lead_times=[int(t) for t in lead_times], threads=threads, formats=formats,
                                        grib2=grib2, template=[str(p) for p in template] or None)
        logger.info("wrote %s in %.1f s", written, time.perf_counter() - start)
        _log_cache_use()
    return Path(written)


def _warm_groups(products: list[str], n: int) -> list[list[str]]:
    """Split ``products`` into at most ``n`` groups that compile different kernels: the products of one
    module together (they share kernels), a product with the products it requires, the largest first."""
    from nwpflow.products import registry

    units: dict[str, list[str]] = {}
    for product in products:  # requirements come first (required_products)
        module = registry[product].function.__module__
        home = next((units[k] for k in units if set(product_requires(product)) & set(units[k])), None)
        (home if home is not None else units.setdefault(module, [])).append(product)
    groups: list[list[str]] = [[] for _ in range(max(1, min(n, len(units))))]
    for unit in sorted(units.values(), key=len, reverse=True):
        min(groups, key=len).extend(unit)
    return [g for g in groups if g]


_WORKER = """
import pickle, sys
from nwpflow import workflow
with open(sys.argv[1], "rb") as f:
    name, args = pickle.load(f)
result = getattr(workflow, name)(*args)
with open(sys.argv[2], "wb") as f:
    pickle.dump(result, f)
"""


def _run_in_processes(function, tasks: list[tuple], folder: Path) -> list:
    """Run ``function(*task)`` (a function of this module) for each task in its own Python process, all
    at once; return the results in order. The processes inherit the environment and file descriptor 2."""
    import pickle
    import subprocess

    procs = []
    for i, task in enumerate(tasks):
        args, result = folder / f"task{i}.pickle", folder / f"result{i}.pickle"
        with open(args, "wb") as f:
            pickle.dump((function.__name__, task), f)
        procs.append((subprocess.Popen([sys.executable, "-c", _WORKER, str(args), str(result)]), result))
    failed = [i for i, (proc, _) in enumerate(procs) if proc.wait() != 0]
    if failed:
        raise RuntimeError(f"warm-up processes {failed} failed (their tracebacks are in this log)")
    results = []
    for _, result in procs:
        with open(result, "rb") as f:
            results.append(pickle.load(f))
    return results


def _write_warm_samples(folder: Path) -> dict[str, str]:
    """Write a tiny sample of each grid kind of :data:`WARM_PRESETS` (two members, lead times 0 and 1)."""
    import dataclasses

    from nwpflow.io.sample import PRESETS, IconGrid, write_sample

    folders = {}
    for name in WARM_PRESETS:
        preset = PRESETS[name]
        grid = IconGrid(ncells=64) if isinstance(preset.grid, IconGrid) else dataclasses.replace(preset.grid, nx=8, ny=6)
        write_sample(folder / name, dataclasses.replace(preset, grid=grid), members=[0, 1], lead_times=[0, 1])
        folders[name] = str(folder / name)
    return folders


def _warm(products: list[str], folders: dict[str, str], options: Mapping | None, ensemble: bool,
          kinds: list[str], threads: int) -> dict:
    """Compute ``products`` (and the fan-in statistics) on the tiny samples; return what failed and the
    cache counts. Runs in the warm job's process or in one it spawned."""
    from nwpflow.kernels import _cache
    from nwpflow.pipeline import compute_products

    if not logging.getLogger().handlers:  # a spawned process: log to the job's log like the job
        _setup_logging()
    failed = []

    def attempt(what: str, function, *args, **kwargs):
        # A warm-up must not stop the workflow: what fails here is logged, and the job that needs it
        # compiles it (once, safely) or reports the error where it belongs.
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            logger.warning("warm-up of %s failed: %s: %s", what, type(error).__name__, error)
            failed.append(what)
            return None

    for preset_name, directory in folders.items():
        folder = Path(directory)
        files = {m: [str(folder / input_file_name(SAMPLE_PATTERN, m, 1)), str(folder / SAMPLE_CONSTANTS)]
                 for m in (0, 1)}
        written: dict = {}
        for product in products:  # one by one, so that one failure costs only its own warm-up
            done = attempt(f"{product} on {preset_name}", compute_products, [product],
                           files[0] + [str(written[r]) for r in product_requires(product) if r in written],
                           output_dir=folder / f"out-{product}", options=options, threads=threads)
            if done:
                written.update(done)
        if ensemble and written:
            from nwpflow.products.fanin import compute_ensemble_products

            first = next(iter(written))
            other = attempt(f"{first} of member 1 on {preset_name}", compute_products, [first], files[1],
                            output_dir=folder / "out-member1", options=options, threads=threads)
            if other:
                attempt(f"ensemble statistics on {preset_name}", compute_ensemble_products,
                        [written[first], other[first]], folder / "ensemble.nc", quantiles=[0.5], thresholds=[0.0],
                        threads=threads)
        if kinds:
            from nwpflow.products.fanin import compute_time_products

            leads = [folder / input_file_name(SAMPLE_PATTERN, 0, lead) for lead in (0, 1)]
            for kind in kinds:  # the kernels take the same arrays whatever the field
                field = "TOT_PREC" if kind == "accumulation" else "T_2M"
                attempt(f"{kind} time products on {preset_name}", compute_time_products, leads,
                        folder / f"time-{kind}.nc", field, kind, 1, lead_times=[0, 1], threads=threads)
    return {"failed": failed, "counts": dict(_cache.counts)}


WARM_PRESETS = ("small", "cosmo-small")
"""Grids rule ``warm_cache`` compiles the kernels for: ICON cells, and COSMO's rotated grid with its
staggered winds (a kernel of its own)."""


def run_warm_job(
    stamp: str | os.PathLike,
    *,
    products: Sequence[str],
    options: Mapping[str, Mapping] | None = None,
    ensemble: bool = True,
    time_products: Mapping[str, tuple[str, str, int]] | None = None,
    threads: int = 1,
) -> Path:
    """Compile every kernel the workflow's jobs use into numba's on-disk cache, then write ``stamp``.

    Rule ``warm_cache`` runs this once, before any product job (every product, bundle, ensemble and
    time rule has the stamp as an input), so that no later job compiles: each only loads. It computes
    every product on a tiny sample of each grid kind (:data:`WARM_PRESETS`, a few dozen cells, so the
    kernels see the same argument types as on the real domain), and the ensemble and time statistics
    on those, in a temporary folder.

    Parameters
    ----------
    stamp : path-like
        File to write when done (:func:`warm_stamp`).
    products : sequence of str
        Products to compute (with the products they require).
    options : Mapping, optional
        ``{product: {option: value}}``, as the jobs use them.
    ensemble : bool
        Also run the ensemble statistics.
    time_products : Mapping, optional
        ``{name: (field, kind, window)}`` (:func:`time_products`); one of each kind is run.
    threads : int
        Cores: with more than one, the products are split into that many groups of different kernels
        (:func:`_warm_groups`), compiled side by side in spawned processes with one numba thread each.
    """
    import tempfile

    with _job():
        start = time.perf_counter()
        logger.info("warming numba's cache %s for %s", os.environ.get("NUMBA_CACHE_DIR"), list(products))
        wanted = required_products(list(products))
        kinds = sorted({kind for _, kind, _ in (time_products or {}).values()})
        groups = _warm_groups(wanted, max(1, int(threads)))
        with tempfile.TemporaryDirectory(prefix="nwpflow-warm-") as tmp:
            folders = _write_warm_samples(Path(tmp))
            tasks = [(group, folders, options, ensemble and i == 0, kinds if i == 0 else [],
                      threads if len(groups) == 1 else 1) for i, group in enumerate(groups)]
            if len(tasks) == 1:
                results = [_warm(*tasks[0])]
            else:
                # One process per group, each with one numba thread: numba compiles on one core, so the
                # groups compile side by side (their saves are serialised by nwpflow.kernels._cache).
                # Fresh interpreters (not multiprocessing: it would fork numba's and OpenMP's threads,
                # or, spawning, re-run the Snakemake script that called this); they log to this job's log.
                logger.info("compiling in %d processes: %s", len(tasks), [list(g) for g in groups])
                results = _run_in_processes(_warm, tasks, Path(tmp))
        failed = [what for result in results for what in result["failed"]]
        from nwpflow.kernels import _cache

        if len(results) > 1:  # the spawned processes compiled; this one only counts
            for result in results:
                _cache.counts.update(result["counts"])
        stamp = Path(stamp)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(f"numba cache warmed for {', '.join(wanted)} in {time.perf_counter() - start:.1f} s\n"
                         + (f"not warmed (see logs/warm_cache.log): {', '.join(failed)}\n" if failed else ""))
        logger.info("warmed in %.1f s%s", time.perf_counter() - start,
                    f"; {len(failed)} warm-ups failed: {', '.join(failed)}" if failed else "")
        _log_cache_use()
    return stamp

