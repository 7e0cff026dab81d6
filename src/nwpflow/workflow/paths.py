"""Paths of the workflow's files: the run's inputs, the products' outputs, logs and benchmark tables.

All paths are relative to Snakemake's working directory::

    {output_dir}/{run}/{member}/{lead}h/{PRODUCT}.nc     one product, one member, one lead time
    logs/{run}/{member}/{lead}h/{PRODUCT}.log            its log
    logs/benchmarks/{run}/{member}/{lead}h/{PRODUCT}.tsv its Snakemake benchmark table

with ``member`` the ensemble member on three digits (``000`` is the control run) and ``lead`` the
lead time in whole hours on three digits (``000``, ``001``, ..., ``120``).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping, Sequence

from nwpflow.errors import ConfigError
from nwpflow.naming import CONSTANTS_FILE, FORMAT_SUFFIXES, MODEL_FILE_PATTERN, lead_code, lead_label, member_label
from nwpflow.workflow.plan import (
    bundle_of,
    configured_products,
    ensemble_members,
    ensemble_products,
    ensemble_time_products,
    is_activated,
    product_requires,
    time_products,
    written_products,
)

SAMPLE_CONSTANTS = CONSTANTS_FILE
"""File name of the constant fields (HHL, HSURF, ...) in a sample run written by ``write_sample``."""

SAMPLE_PATTERN = MODEL_FILE_PATTERN
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

ENSEMBLE_LABEL = "ensemble"
"""Folder that takes the member's place in the paths of ensemble products."""

TIME_LABEL = "time"
"""Folder that takes the lead time's place in the paths of time products."""

GRID_NAME = "grid.nc"
"""File of the run's horizontal grid in its output folder (rule ``grid``, :mod:`nwpflow.io.grid`)."""


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
    return f"{_strip(config['output_dir'])}/{_job_path(product)}{FORMAT_SUFFIXES[formats[0]]}"


def output_templates(config: Mapping, product: str) -> dict[str, str]:
    """Return ``{format: output path}`` of a product, one file per format of :func:`product_formats`.

    Examples
    --------
    >>> output_templates({"output_dir": "results", "formats": ["netcdf", "grib2"]}, "BRN")
    {'netcdf': 'results/{run}/{member}/{lead}h/BRN.nc', 'grib2': 'results/{run}/{member}/{lead}h/BRN.grib2'}
    """
    formats = product_formats(config) if "formats" in config else ["netcdf"]
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


def grid_template(config: Mapping) -> str:
    """Return the run's grid file, with the ``{run}`` wildcard.

    Examples
    --------
    >>> grid_template({"output_dir": "results/"})
    'results/{run}/grid.nc'
    """
    return f"{_strip(config['output_dir'])}/{{run}}/{GRID_NAME}"


def grid_inputs(config: Mapping) -> list[str]:
    """Return the files rule ``grid`` reads the grid from: the constants file (ICON's cell centres) and
    the first member's model file of the first lead time."""
    model, constants = job_inputs(config, config["members"][0], min(config["lead_times"]))
    return [constants, model]
