"""The workflow's config: values from the command line, and checks beyond its JSON schema."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import yaml

from nwpflow.errors import ConfigError, OptionError
from nwpflow.io.datamodel import FIELDS
from nwpflow.io.locations import folder_problem
from nwpflow.io.sample import PRESETS
from nwpflow.naming import TIME_SHORT
from nwpflow.products import registry
from nwpflow.workflow.paths import input_file_name
from nwpflow.workflow.plan import configured_products, is_activated, product_names, time_products, written_products

def load_schema(path: str | os.PathLike) -> dict:
    """Return the config's JSON schema, read from YAML (``config/schema.yaml``)."""
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
    """Check what the JSON schema cannot: product names and options against the registry, that the
    output and numba cache folders can be written (:func:`nwpflow.io.locations.folder_problem`), the
    sample preset against ``nwpflow.io.sample.PRESETS`` and, for a real run, the file-name pattern.

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
    for key in ("output_dir", "numba_cache_dir"):
        problem = folder_problem(config[key])
        if problem is not None:
            raise ConfigError(key, problem)
    _check_bundles(config)
    _check_time_statistics(config)
    _check_ensemble(config)
    if is_activated(config, "sample"):
        preset(config["sample"]["preset"])
    else:
        input_file_name(config["run"]["pattern"], config["members"][0], config["lead_times"][0])


def _check_product_options(config: Mapping, known: list[str]) -> None:
    """Every option of every product the config writes, checked against the registry before any job runs
    (``Option.parse`` reads ``snakemake --config`` text, ``Option.check`` types and ranges); options of a
    product the config does not write are an error, not ignored."""
    options = config.get("product_options") or {}
    written = written_products(config)
    for product, given in options.items():
        if product not in known:
            raise ConfigError("product_options", f"unknown product {product!r}; allowed values: {', '.join(known)}")
        if product not in written:
            raise ConfigError(f"product_options.{product}", f"{product} is not computed by this config (products: "
                                                            f"{', '.join(written)}): add it to `products` or remove "
                                                            "its options")
        if not isinstance(given, Mapping):
            raise ConfigError(f"product_options.{product}", f"{given!r} is not a mapping {{option: value}}")
        entry = registry[product]
        for name, value in list(given.items()):
            key = f"product_options.{product}.{name}"
            if name not in entry.options:
                accepted = ", ".join(sorted(entry.options)) or "none"
                raise ConfigError(key, f"{product} has no option {name!r}; allowed options: {accepted}")
            given[name] = entry.options[name].parse(value)
            try:
                entry.resolve_options({name: given[name]})
            except OptionError as error:
                choices = entry.options[name].choices
                allowed = f"; allowed values: {', '.join(map(repr, choices))}" if choices else ""
                raise ConfigError(key, f"{error}{allowed}") from None


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
    fields = "|".join(re.escape(f) for f in [*product_names(), *FIELDS])
    possible = re.compile(rf"({fields})(_({'|'.join(TIME_SHORT.values())})_\d+(h|min))?")
    for name in block.get("thresholds") or {}:
        if name not in allowed and not possible.fullmatch(name):
            raise ConfigError("ensemble.thresholds", f"unknown product {name!r}; allowed values: {', '.join(allowed)}")


def preset(name: str):
    """Return the sample preset ``name`` (:data:`nwpflow.io.sample.PRESETS`), or refuse an unknown one."""
    if name not in PRESETS:
        raise ConfigError("sample.preset", f"unknown preset {name!r}; allowed values: {', '.join(PRESETS)}")
    return PRESETS[name]
