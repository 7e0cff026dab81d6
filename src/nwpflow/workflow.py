"""Helpers the Snakemake workflow uses: file names, targets, wildcards and resource estimates.

Everything ``rules/*.smk`` derives from the config is computed here, in plain functions that take
the config dict and are unit-tested (``tests/test_workflow_helpers.py``), so the ``.smk`` files only
wire things together. Two job functions, :func:`run_sample_job` and :func:`run_product_job`, are what
``scripts/sample.py`` and ``scripts/product.py`` call.

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


def output_template(config: Mapping, product: str) -> str:
    """Return the output path of a product with ``{run}``, ``{member}``, ``{lead}`` wildcards.

    Examples
    --------
    >>> output_template({"output_dir": "results"}, "BRN")
    'results/{run}/{member}/{lead}h/BRN.nc'
    """
    return f"{_strip(config['output_dir'])}/{_job_path(product)}.nc"


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
    """Return every file the default target builds: each configured product, member and lead time.

    Parameters
    ----------
    config : Mapping
        The validated workflow config (``products``, ``members``, ``lead_times``, ``run.name``,
        ``output_dir``).

    Returns
    -------
    list of str
        Output paths, product by product, then member, then lead time.
    """
    outputs = []
    for product in config["products"]:
        template = output_template(config, product)
        for member in config["members"]:
            for lead in config["lead_times"]:
                outputs.append(
                    template.format(run=config["run"]["name"], member=member_label(member), lead=lead_label(lead))
                )
    return outputs


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
        len(product_inputs(product)),
        safety_factor=res["mem_safety_factor"],
        base_mb=res["mem_base_mb"],
    )


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
        kind = sub.get("type")
        if isinstance(value, dict) and kind == "object":
            props = sub.get("properties", {})
            for key in value:
                if key in props:
                    value[key] = convert(value[key], props[key])
            return value
        if isinstance(value, list) and kind == "array" and "items" in sub:
            return [convert(v, sub["items"]) for v in value]
        if not isinstance(value, str):
            return value
        text = value.strip()
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if kind == "number" and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return float(text)
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        return value

    return convert(config, schema)


# --- config checks beyond the JSON schema ----------------------------------------------------------


def check_config(config: Mapping) -> None:
    """Check what the JSON schema cannot: product names against the registry, the sample preset
    against ``nwpflow.io.sample.PRESETS`` and, for a real run, the file-name pattern.

    Raises
    ------
    ConfigError
        Naming the key and the allowed values.
    """
    known = product_names()
    for product in config["products"]:
        if product not in known:
            raise ConfigError("products", f"unknown product {product!r}; allowed values: {', '.join(known)}")
    if is_activated(config, "sample"):
        _preset(config["sample"]["preset"])
    else:
        input_file_name(config["run"]["pattern"], config["members"][0], config["lead_times"][0])


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

    with _job_stderr():
        _setup_logging()
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
) -> Path:
    """Compute one product from one member and lead time and write it as NetCDF (rules ``products.smk``).

    Parameters
    ----------
    product : str
        Product name in the registry, e.g. ``"BRN"``.
    inputs : sequence of path-like
        The model-output file and the constants file.
    output : path-like
        NetCDF file to write.
    threads : int
        numba threads.
    options : Mapping, optional
        Options of the product, ``{option: value}`` (see ``nwpflow.products.registry``).

    Returns
    -------
    Path
        The file written.
    """
    from nwpflow.pipeline import compute_products

    with _job_stderr():
        _setup_logging()
        start = time.perf_counter()
        logger.info("computing %s from %s with %d threads (NUMBA_CACHE_DIR=%s)",
                    product, [str(p) for p in inputs], threads, os.environ.get("NUMBA_CACHE_DIR"))
        written = compute_products(
            [product],
            [str(p) for p in inputs],
            outputs={product: str(output)},
            options={product: dict(options)} if options else None,
            threads=threads,
        )
        logger.info("wrote %s in %.1f s", written[product], time.perf_counter() - start)
    return Path(written[product])
