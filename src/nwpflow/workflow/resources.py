"""Resources of the jobs: memory (``mem_mb``) from the domain size and what each job holds, and their
growth on each retry of a job (:func:`retried`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from nwpflow.io.datamodel import FIELDS, SURFACE
from nwpflow.io.sample import IconGrid
from nwpflow.products import fields_needed
from nwpflow.workflow.config import preset
from nwpflow.workflow.plan import (
    ensemble_members,
    is_activated,
    product_inputs,
    product_requires,
    required_products,
    time_products,
    written_products,
)


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
        chosen = preset(config["sample"]["preset"])
        grid = chosen.grid
        cells = grid.ncells if isinstance(grid, IconGrid) else grid.nx * grid.ny
        return int(cells), int(chosen.nlev)
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


def _mem(config: Mapping, levels: int, fields: int) -> int:
    cells, _ = domain_size(config)
    res = config["resources"]
    return estimate_mem_mb(cells, max(1, levels), max(1, fields), safety_factor=res["mem_safety_factor"],
                           base_mb=res["mem_base_mb"])


def bundle_mem_mb(config: Mapping, products: Sequence[str]) -> int:
    """Return the ``mem_mb`` of one bundle job: every distinct input field, required product and output
    held at once (3-D fields counted throughout)."""
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
    field = time_products(config, covered_only=False)[name][0]
    _, levels = domain_size(config)
    info = FIELDS.get(field)
    if field not in written_products(config) and info is not None and info.vertical == SURFACE:
        levels = 1
    return _mem(config, levels, 2 * len(config["lead_times"]))


def retried(amount: int | Callable[..., int], config: Mapping) -> Callable[..., int]:
    """Return a Snakemake resource that grows with each attempt of a job.

    Attempt ``n`` (Snakemake's ``attempt``: 1, then 2, 3, ... on each retry, ``--retries``) asks for
    ``ceil(amount * retry_factor ** (n - 1))``, with ``retry_factor`` from config ``resources``: a job
    killed for exceeding its memory request (SLURM's limit) comes back with more, and one that hit its
    wall-clock limit with more time.

    Parameters
    ----------
    amount : int or callable
        The first attempt's amount (``mem_mb`` in MB, ``runtime`` in minutes), or a function of the
        job's wildcards that returns it (an input function, e.g. the memory of a time product).
    config : Mapping
        The validated workflow config (``resources.retry_factor``, a number >= 1).

    Returns
    -------
    callable
        ``resource(wildcards, attempt) -> int``, for a rule's ``resources:``.

    Examples
    --------
    >>> mem_mb = retried(1500, {"resources": {"retry_factor": 2}})
    >>> [mem_mb({}, attempt) for attempt in (1, 2, 3)]
    [1500, 3000, 6000]
    """
    factor = float(config["resources"]["retry_factor"])
    if not factor >= 1:
        raise ValueError(f"resources.retry_factor must be 1 or more, got {factor!r}")

    def resource(wildcards, attempt: int) -> int:
        first = amount(wildcards) if callable(amount) else amount
        return math.ceil(first * factor ** (attempt - 1))

    return resource
