"""What the plotting rules (rules/report.smk) need while Snakemake parses: their files, inputs and checks.

Paths, below ``output_dir``::

    {run}/quicklooks/grid.npz                      the map geometry of the run's grid (rule quicklook_grid)
    {run}/quicklooks/{lead}h/{group}/PRODUCT/*.png  quicklooks of one lead time: of member {group} (e.g. 000)
                                                   and of the ensemble statistics (group ``ensemble``), and
                                                   frames.json (one job per lead time)
    {run}/quicklooks/time/{group}/NAME/*.png       quicklooks of the time products (one per window end)
    {run}/meteograms/{point}.png, points.csv       EPSgrams and the tidy table of the point series
    {run}/report/config.html, provenance.html, runtimes.html   the run's record
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Mapping

from nwpflow.errors import ConfigError
from nwpflow.naming import lead_label, member_label
from nwpflow.workflow.incremental import available_inputs
from nwpflow.workflow.paths import (
    ENSEMBLE_LABEL,
    TIME_LABEL,
    _strip,
    ensemble_template,
    ensemble_time_template,
    job_inputs,
    output_template,
    time_template,
)
from nwpflow.workflow.plan import (
    configured_products,
    ensemble_products,
    ensemble_time_products,
    is_activated,
    time_products,
    written_products,
)

QUICKLOOKS = "quicklooks"
METEOGRAMS = "meteograms"
RECORD = "report"
FRAMES_INDEX = "frames.json"
"""The list of a quicklook folder's frames, written by its job (:data:`nwpflow.jobs.plots.FRAMES_INDEX`)."""
RECORD_PAGES = ("config", "provenance", "runtimes")
LEVEL_DIMS = ("level", "half_level", "pressure", "height")
"""Vertical dims of the products whose levels ``quicklooks.levels`` chooses."""
METEOGRAM_WIND = "FF_10M"
"""The product of the meteograms' wind panel (its gusts are the model's VMAX_10M)."""


def _root(config: Mapping, part: str) -> str:
    return f"{_strip(config['output_dir'])}/{{run}}/{part}"


def grid_file(config: Mapping) -> str:
    """Return the map geometry's path (wildcard ``{run}``).

    Examples
    --------
    >>> grid_file({"output_dir": "results"})
    'results/{run}/quicklooks/grid.npz'
    """
    return f"{_root(config, QUICKLOOKS)}/grid.npz"


def quicklook_folder(config: Mapping) -> str:
    """Return the folder of the quicklook job of one lead time (wildcards ``{run}``, ``{lead}``).

    One job draws every group (members, ensemble) of a lead time: each job costs ~1.5 s of start-up
    (Python, matplotlib, xarray), as much as ~30 quicklooks.

    Examples
    --------
    >>> quicklook_folder({"output_dir": "results"})
    'results/{run}/quicklooks/{lead}h'
    """
    return f"{_root(config, QUICKLOOKS)}/{{lead}}h"


def quicklook_time_folder(config: Mapping) -> str:
    """Return the folder of the time products' quicklooks (wildcard ``{run}``)."""
    return f"{_root(config, QUICKLOOKS)}/{TIME_LABEL}"


def quicklook_members(config: Mapping) -> list[int]:
    """Return the members whose quicklooks are drawn: ``first`` (the first of ``members``) or a list."""
    chosen = config[QUICKLOOKS]["members"]
    return config["members"][:1] if chosen == "first" else list(chosen)


def quicklook_products(config: Mapping) -> list[str]:
    """Return the products (of each member and lead time) whose quicklooks are drawn."""
    chosen = config[QUICKLOOKS]["products"]
    products = configured_products(config)
    return products if chosen == "all" else [p for p in products if p in chosen]


def quicklook_time_products(config: Mapping) -> list[str]:
    """Return the time products whose quicklooks are drawn."""
    chosen = config[QUICKLOOKS]["products"]
    names = list(time_products(config))
    return names if chosen == "all" else [n for n in names if n in chosen]


def _ensemble_drawn(config: Mapping) -> bool:
    return bool(config[QUICKLOOKS]["ensemble"]) and "ensemble" in config and (
        bool(ensemble_products(config)) or bool(ensemble_time_products(config)))


def quicklook_groups(config: Mapping) -> list[str]:
    """Return the groups of quicklook folders: the chosen members' labels, then ``ensemble`` where ensemble
    statistics are drawn."""
    groups = [member_label(m) for m in quicklook_members(config)]
    return groups + ([ENSEMBLE_LABEL] if _ensemble_drawn(config) else [])


def quicklook_inputs(config: Mapping, run: str, lead: str) -> dict[str, dict[str, str]]:
    """Return ``{group: {product: file}}`` the quicklook job of lead time ``lead`` (a label) draws."""
    inputs = {}
    for group in quicklook_groups(config):
        if group == ENSEMBLE_LABEL:
            chosen = [p for p in quicklook_products(config) if p in ensemble_products(config)]
            inputs[group] = {p: ensemble_template(config).format(run=run, lead=lead, product=p) for p in chosen}
        else:
            inputs[group] = {p: output_template(config, p).format(run=run, member=group, lead=lead)
                             for p in quicklook_products(config)}
    return {group: files for group, files in inputs.items() if files}


def quicklook_time_inputs(config: Mapping, run: str) -> dict[str, dict[str, str]]:
    """Return ``{group: {time product: file}}`` of the time-product quicklooks."""
    inputs = {}
    for group in quicklook_groups(config):
        if group == ENSEMBLE_LABEL:
            chosen = [n for n in quicklook_time_products(config) if n in ensemble_time_products(config)]
            inputs[group] = {n: ensemble_time_template(config).format(run=run, name=n) for n in chosen}
        else:
            inputs[group] = {n: time_template(config).format(run=run, member=group, name=n)
                             for n in quicklook_time_products(config)}
    return {group: files for group, files in inputs.items() if files}


def grid_inputs(config: Mapping) -> list[str]:
    """Return the inputs of the map geometry: the run's constants file and ``quicklooks.grid_file`` if given."""
    extra = config[QUICKLOOKS].get("grid_file") or ""
    return [job_inputs(config, config["members"][0], config["lead_times"][0])[1], *([extra] if extra else [])]


def point_slug(name: str) -> str:
    """Return a file name for a point's name: ASCII letters, digits, ``.``, ``_`` and ``-``.

    Examples
    --------
    >>> point_slug("Zürich-Fluntern"), point_slug("St. Gallen / Säntis")
    ('Zurich-Fluntern', 'St._Gallen_Santis')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name)).strip("_") or "point"


def meteogram_outputs(config: Mapping) -> dict[str, str]:
    """Return ``{point name: PNG}`` and ``{"__table__": CSV}`` of the meteograms (wildcard ``{run}``)."""
    root = _root(config, METEOGRAMS)
    outputs = {p["name"]: f"{root}/{point_slug(p['name'])}.png" for p in config[METEOGRAMS]["points"]}
    return {**outputs, "__table__": f"{root}/points.csv"}


def meteogram_inputs(config: Mapping, run: str) -> dict:
    """Return the meteogram job's inputs: ``model`` ``{member: {lead: file}}``, ``products``
    ``{product: {member: {lead: file}}}`` (the wind product and the CAPE product) and ``constants``."""
    members, leads = config["members"], sorted(config["lead_times"])
    model = {m: {t: job_inputs(config, m, t)[0] for t in leads} for m in members}
    products = {p: {m: {t: output_template(config, p).format(run=run, member=member_label(m), lead=lead_label(t))
                        for t in leads} for m in members}
                for p in (METEOGRAM_WIND, config[METEOGRAMS]["cape"])}
    return {"model": model, "products": products, "constants": job_inputs(config, members[0], leads[0])[1]}


def meteograms_skipped(config: Mapping) -> str | None:
    """Return why the meteograms are not drawn although activated (a product they read is not computed), or
    ``None`` where they are drawn (or switched off)."""
    if not is_activated(config, METEOGRAMS):
        return None
    missing = [p for p in (METEOGRAM_WIND, config[METEOGRAMS]["cape"]) if p not in written_products(config)]
    if missing:
        return f"they read the products {', '.join(missing)}, which `products` does not compute"
    return None


def flat_files(nested) -> list[str]:
    """Every file of a nested mapping of files (what Snakemake gets as input)."""
    if isinstance(nested, Mapping):
        return [f for value in nested.values() for f in flat_files(value)]
    return [nested]


def record_outputs(config: Mapping) -> dict[str, str]:
    """Return ``{page: path}`` of the run's record (wildcard ``{run}``)."""
    return {page: f"{_root(config, RECORD)}/{page}.html" for page in RECORD_PAGES}


def report_targets(config: Mapping) -> list[str]:
    """Return what rule ``all`` asks for of the plotting rules: every quicklook folder, the meteograms and the
    record. With ``incremental``, the quicklooks of a lead time once its inputs are complete (every
    member's where the ensemble is drawn), and the time products', meteograms and record once the run is."""
    run = config["run"]["name"]
    available = available_inputs(config) if config.get("incremental") else None
    members, leads = config["members"], config["lead_times"]
    complete = available is None or all((m, t) in available for m in members for t in leads)
    targets = []
    if is_activated(config, QUICKLOOKS):
        targets.append(grid_file(config).format(run=run))
        groups = quicklook_inputs(config, run, lead_label(leads[0]))
        needed = members if ENSEMBLE_LABEL in groups else [int(g) for g in groups]
        targets += [quicklook_folder(config).format(run=run, lead=lead_label(t)) for t in leads
                    if groups and (available is None or all((m, t) in available for m in needed))]
        if complete and quicklook_time_inputs(config, run):
            targets.append(quicklook_time_folder(config).format(run=run))
    if is_activated(config, METEOGRAMS) and meteograms_skipped(config) is None and complete:
        targets += [path.format(run=run) for path in meteogram_outputs(config).values()]
    if is_activated(config, "run_record") and complete:
        targets += [path.format(run=run) for path in record_outputs(config).values()]
    return targets


def frame_labels(folder: str, group: str, product: str, variant: str) -> dict[str, str]:
    """Return the report's labels of one quicklook (from its folder's ``frames.json``): member, lead time,
    valid time and level."""
    path = os.path.join(folder, FRAMES_INDEX)
    with open(path, encoding="utf-8") as f:
        records = {r["file"]: r for r in json.load(f)}
    record = records.get(f"{group}/{product}/{variant}.png")
    if record is None:
        raise ConfigError(QUICKLOOKS, f"{path} does not list {group}/{product}/{variant}.png")
    lead = record.get("lead_h")
    return {"member": record["member"], "lead time": "" if lead is None else f"+{lead:03.0f} h",
            "valid time": record.get("valid_time") or "", "level": record.get("level") or "-",
            "range": f"{record['range'][0]:g} to {record['range'][1]:g} {record['units']}"}


def check_report_config(config: Mapping) -> None:
    """Check what the schema cannot of ``quicklooks``, ``meteograms``: members, statistics, products, styles
    and unique point names.

    Raises
    ------
    ConfigError
        Naming the key and what is allowed.
    """
    quick = config[QUICKLOOKS]
    if quick["members"] != "first":
        unknown = [m for m in quick["members"] if m not in config["members"]]
        if unknown:
            raise ConfigError("quicklooks.members", f"{unknown} are not among the members {config['members']}")
    statistics = config.get("ensemble", {}).get("statistics", [])
    missing = [s for s in quick["ensemble"] if s not in statistics]
    if missing:
        raise ConfigError("quicklooks.ensemble", f"{missing} are not computed (ensemble.statistics: {statistics})")
    known = set(written_products(config)) | set(time_products(config, covered_only=False))
    if quick["products"] != "all":
        unknown = [p for p in quick["products"] if p not in known]
        if unknown:
            raise ConfigError("quicklooks.products",
                              f"{unknown} are not computed; allowed: all, {', '.join(sorted(known))}")
    fields = {spec[0] for spec in time_products(config, covered_only=False).values()}
    for product, style in quick["styles"].items():
        if product not in known | fields:
            raise ConfigError("quicklooks.styles", f"{product!r} is not a product of this run")
        given = style.get("range")
        if given is not None and not given[0] < given[1]:
            raise ConfigError("quicklooks.styles", f"the range of {product} must be increasing, not {given}")
    if is_activated(config, METEOGRAMS):
        slugs = [point_slug(p["name"]) for p in config[METEOGRAMS]["points"]]
        if len(set(slugs)) != len(slugs):
            raise ConfigError("meteograms.points", f"point names must differ in their file names {slugs}")



def plot_mem_mb(config: Mapping, kind: str) -> int:
    """Return the ``mem_mb`` of a plotting job: ``grid`` (triangulation and pixel map: ~400 B per cell),
    ``quicklooks`` (one 3-D product file read at a time, twice its size) or ``meteograms`` (one field at a
    time), plus ``resources.mem_base_mb``."""
    from nwpflow.workflow.resources import domain_size

    cells, levels = domain_size(config)
    per_kind = {"grid": cells * 400, "quicklooks": cells * levels * 4 * 2, "meteograms": cells * 4 * 8}
    return int(config["resources"]["mem_base_mb"] + per_kind[kind] / 2**20)


__all__ = ["FRAMES_INDEX", "check_report_config", "flat_files", "frame_labels", "grid_file", "grid_inputs",
           "meteogram_inputs", "meteogram_outputs", "meteograms_skipped", "plot_mem_mb", "point_slug",
           "quicklook_folder", "quicklook_groups",
           "quicklook_inputs", "quicklook_members", "quicklook_products", "quicklook_time_folder",
           "quicklook_time_inputs", "quicklook_time_products", "record_outputs", "report_targets"]
