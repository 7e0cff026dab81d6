"""The product plan of a config: which products, bundles, ensemble and time products the workflow makes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nwpflow.errors import ConfigError, NwpflowError, UnknownProductError
from nwpflow.naming import time_product_name
from nwpflow.products import registry
from nwpflow.products import required_products as _with_requirements

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


def product_names() -> list[str]:
    """Return the names of every registered product, sorted."""
    return sorted(registry)


def product_inputs(product: str) -> tuple[str, ...]:
    """Return the input fields of a registered product."""
    try:
        return tuple(registry[product].inputs)
    except KeyError:
        raise UnknownProductError(product, list(registry)) from None


def product_requires(product: str) -> tuple[str, ...]:
    """Return the products ``product`` consumes (registry ``requires``)."""
    return tuple(registry[product].requires)


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
    try:
        return _with_requirements(list(products))
    except NwpflowError as error:
        raise ConfigError("products", str(error)) from None


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


def product_options(config: Mapping, product: str) -> dict:
    """Return the configured options of ``product`` (``product_options``), ``{}`` where none are set."""
    return dict((config.get("product_options") or {}).get(product) or {})


def resolved_options(config: Mapping, product: str) -> dict:
    """Return every option of ``product``: the configured ones, the others at their defaults (what a rule's
    ``params.options`` holds, so that an option given at its default value changes nothing).

    Examples
    --------
    >>> resolved_options({"product_options": {"HPBL": {"critical": 0.25}}}, "HPBL")
    {'critical': 0.25}
    >>> resolved_options({}, "HPBL")
    {'critical': 0.22}
    """
    return registry[product].resolve_options(product_options(config, product))


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


def ensemble_thresholds(config: Mapping, product: str) -> list[float]:
    """Return the exceedance thresholds configured for ``product`` (a product or time product name)."""
    return [float(v) for v in ((config.get("ensemble") or {}).get("thresholds") or {}).get(product, [])]


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
            name = time_product_name(entry["field"], entry["kind"], 60 * int(window))
            result[name] = (entry["field"], entry["kind"], int(window))
    return result
