"""The product registry: one declarative entry per product (wrf-python's ``_FUNC_MAP`` idea).

A :class:`Product` records what the CLI, the Snakemake rules and the docs need to know: its inputs
(data-model field names), units, CF standard name, the options it accepts with their defaults and
allowed values, its formula reference and how it is validated. :func:`compute` is the single entry
point the CLI, the pipeline and the Python API share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import xarray as xr
import yaml

from nwpflow.errors import InputError, NwpflowError, OptionError, UnknownProductError
from nwpflow.io import grib2_codes
from nwpflow.io.datamodel import FIELDS
from nwpflow.io.grib2_codes import Grib2Parameter


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)
"""A number as Python writes it; YAML 1.1 (PyYAML) reads ``1e20`` (no dot) as text."""


def _read(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_read(item) for item in value]
    if not isinstance(value, str):
        return value
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    if isinstance(loaded, list):
        return [_read(item) for item in loaded]
    if isinstance(loaded, str) and NUMBER.fullmatch(loaded.strip()):
        return float(loaded)
    return loaded


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Option:
    """An option a product accepts.

    Its type is its default's: a number, a list of numbers, a flag, a text or ``None`` (then ``None`` or a
    number; ``None`` or a text, such as a file path, with ``text=True``); ``choices`` lists the allowed values where there are few, ``bounds`` the range ``(lowest,
    highest)`` of numbers (either ``None``: open), e.g. the data model's physical range of the field whose
    values the option names (``FIELDS["P"].valid_range`` for target pressures). :meth:`check` refuses
    anything else, so that a bad option stops a job before it reads or writes anything.
    """

    default: Any
    description: str
    choices: tuple | None = None
    bounds: tuple[float | None, float | None] | None = None
    text: bool = False

    def parse(self, value: Any) -> Any:
        """The option's value from text (``nwpflow compute --option``, ``snakemake --config``): read as YAML,
        numbers in any spelling (``1e20``, which YAML 1.1 reads as text); a text option's text as it is; a
        list for a tuple default as a tuple."""
        if self.text:
            return None if value in ("null", "~", "") else value
        if isinstance(self.default, str):
            return value
        value = _read(value)
        return tuple(value) if isinstance(self.default, tuple) and isinstance(value, list) else value

    def check(self, product: str, name: str, value: Any) -> Any:
        """Return ``value`` if the option accepts it, else raise :class:`~nwpflow.errors.OptionError` naming
        the product, the option and what it takes."""
        def refuse(what: str):
            return OptionError(f"product {product!r}: option {name!r} ({self.description}) must be {what}, "
                               f"not {value!r}")

        if self.choices is not None:
            if value not in self.choices or type(value) is not type(next(c for c in self.choices if c == value)):
                raise refuse(f"one of {', '.join(map(repr, self.choices))}")
            return value
        default = self.default
        if isinstance(default, (list, tuple)):
            if not isinstance(value, (list, tuple)) or not value or not all(map(_is_number, value)):
                raise refuse("a non-empty list of numbers")
            if len(set(value)) != len(value):
                raise refuse("a list of different numbers")
            numbers = list(value)
        elif isinstance(default, bool) or isinstance(default, str):
            if type(value) is not type(default):
                raise refuse(f"{'true or false' if isinstance(default, bool) else 'a text'}")
            return value
        elif default is None and self.text:
            if not (value is None or isinstance(value, str)):
                raise refuse("a text or null")
            return value
        elif _is_number(default) or default is None:
            if not (_is_number(value) or (default is None and value is None)):
                raise refuse("a number" + (" or null" if default is None else ""))
            numbers = [] if value is None else [value]
        else:
            return value
        lowest, highest = self.bounds or (None, None)
        for number in numbers:
            if not math.isfinite(number) or (lowest is not None and number < lowest) or (
                    highest is not None and number > highest):
                span = (f" from {lowest:g}" if lowest is not None else "") + (
                    f" to {highest:g}" if highest is not None else "")
                raise refuse(("finite numbers" if isinstance(default, (list, tuple)) else "a finite number") + span)
        return value


@dataclass(frozen=True)
class Product:
    """A post-processing product.

    ``function(dataset, *, cache, **options)`` returns the product as a DataArray. ``inputs`` are the
    data-model fields it reads; ``requires`` are other products it consumes (e.g. HPBL consumes BRN):
    :func:`compute` takes them from the dataset when present (a product file read back), else from
    ``cache``, else computes and caches them. ``cache`` is a dict shared by the products of one job, in
    which a product may also keep intermediate results other products reuse (e.g. one parcel ascent for
    CAPE_ML and CIN_ML), keyed by a tuple that starts with its own name. ``grib2`` is its GRIB2
    parameter (and fixed surface, for a product without a vertical dim): what GRIB2 output writes and
    reads back (:mod:`nwpflow.io.grib2_codes`); ``None``: the product cannot be written as GRIB2.

    A generic operator (``LAYER_MEAN`` of any field) reads fields its options name: ``option_inputs``
    maps the resolved options to them, and :meth:`inputs_for` gives every field of one request. Its
    ``units`` may then name options in braces, ``"{field}"``: the units of the field the option names.
    """

    name: str
    description: str
    units: str
    inputs: tuple[str, ...]
    function: Callable[..., xr.DataArray] = field(repr=False)
    standard_name: str | None = None
    options: Mapping[str, Option] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    grib2: Grib2Parameter | None = None
    reference: str = ""
    validation: str = ""
    option_inputs: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = field(default=None, repr=False)
    preflight: Callable[[Mapping[str, Any], Mapping[str, Any]], None] | None = field(default=None, repr=False)
    """Checks a request against what the run's files hold before a job reads them (``(options, facts)``,
    facts as :func:`nwpflow.io.reader.run_contents`): e.g. PV on an ICON grid needs the grid file."""

    def inputs_for(self, options: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        """The fields one request reads: ``inputs`` and those its options name (``option_inputs``).

        Examples
        --------
        >>> registry["LAYER_MEAN"].inputs_for({"field": "QV"})
        ('HHL', 'P', 'T', 'QV')
        """
        extra = () if self.option_inputs is None else self.option_inputs(self.resolve_options(options or {}))
        return tuple(dict.fromkeys((*self.inputs, *extra)))

    def resolve_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Return every option of the product, the given ones checked, the others at their default."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            accepted = ", ".join(sorted(self.options)) or "none"
            raise OptionError(f"product {self.name!r} has no option {unknown[0]!r} (accepted: {accepted})")
        return {name: option.check(self.name, name, given.get(name, option.default))
                for name, option in self.options.items()}


class Registry(Mapping[str, Product]):
    """Products by name."""

    def __init__(self) -> None:
        self._products: dict[str, Product] = {}

    def register(self, product: Product) -> Product:
        if product.name in self._products:
            raise ValueError(f"product {product.name!r} is registered twice")
        if product.grib2 is not None:
            grib2_codes.declare(product.name, product.grib2)
        self._products[product.name] = product
        return product

    def __getitem__(self, name: str) -> Product:
        try:
            return self._products[name]
        except KeyError:
            raise UnknownProductError(name, list(self._products)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._products)

    def __len__(self) -> int:
        return len(self._products)


registry = Registry()
"""Every product nwpflow knows."""

PLUGIN_GROUP = "nwpflow.products"
"""Entry-point group of packages that add products: each entry point names a module that registers its
products on import, e.g. in a plugin's ``pyproject.toml``::

    [project.entry-points."nwpflow.products"]
    shear = "mypackage.shear"
"""


def load_plugins() -> list[str]:
    """Import the modules of the installed plugins (:data:`PLUGIN_GROUP`), which register their products;
    return the entry points' names. A plugin that fails to import stops with an error naming it."""
    from importlib.metadata import entry_points

    loaded = []
    for point in entry_points(group=PLUGIN_GROUP):
        if point.name in loaded:  # the same distribution found twice on sys.path
            continue
        try:
            point.load()
        except Exception as error:
            raise NwpflowError(f"product plugin {point.name!r} ({point.value}) failed to load: "
                               f"{type(error).__name__}: {error}") from error
        loaded.append(point.name)
    return loaded


def required_products(products: list[str]) -> list[str]:
    """Return ``products`` and every product they require (``requires``), each once, requirements first.

    Examples
    --------
    >>> required_products(["HPBL"])
    ['BRN', 'HPBL']
    """
    ordered: dict[str, None] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise NwpflowError(f"products require each other in a cycle: {' -> '.join((*path, name))}")
        if name in ordered:
            return
        for required in registry[name].requires:
            visit(required, (*path, name))
        ordered[name] = None

    for product in products:
        visit(product, ())
    return list(ordered)


def fields_needed(products: list[str], available: set[str] | None = None,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Input fields of ``products`` and of the products they require, each once, in a stable order.

    A required product in ``available`` (e.g. already computed and read back) needs no inputs of its own.
    ``options`` (``{product: {option: value}}``) adds the fields a generic operator's options name
    (:meth:`Product.inputs_for`); a required product is computed with its default options.
    """
    available = available or set()
    options = options or {}
    fields: dict[str, None] = {}

    def visit(name: str, given: Mapping[str, Any]) -> None:
        product = registry[name]
        for required in product.requires:
            if required in available:
                fields[required] = None
            else:
                visit(required, {})
        fields.update(dict.fromkeys(product.inputs_for(given)))

    for product in products:
        visit(product, options.get(product, {}))
    return list(fields)


def missing_input(product: str, field_name: str, held: Iterable[str], sources: Iterable[str]) -> InputError:
    """The error of a product whose input field the run lacks: it names the product, the field, the
    files and what they hold, and how to provide the field (or do without the product)."""
    info = FIELDS.get(field_name)
    what = f" ({info.long_name})" if info is not None else ""
    held = ", ".join(sorted(map(str, held))) or "nothing"
    return InputError(
        f"product {product!r} needs it{what}, but it is not in {', '.join(map(str, sources))} (found: {held}). "
        f"Provide it: write {field_name} into the model output (ICON: its name in ml_varlist of output_nml; "
        f"COSMO: yvarml of gribout), or give a file that holds it as an input; or leave {product} out of "
        "`products`", field=field_name)


def check_inputs(products: list[str], contents: Mapping[str, Any],
                 options: Mapping[str, Mapping[str, Any]] | None = None, available: set[str] | None = None) -> None:
    """Check ``products`` (with ``options``, and the products they require unless ``available``) against
    what the run's files hold, ``contents`` (:func:`nwpflow.io.reader.run_contents`: ``fields``, ``sources``
    and the grid): :func:`missing_input`'s error for the first field they lack, and each product's
    ``preflight``. A job calls this once the files' headers are scanned, before any value is decoded.
    """
    options = options or {}
    held = None if contents.get("fields") is None else set(contents["fields"]) | set(available or ())
    for product in products:
        for name in required_products([product]):
            if name != product and name in (available or ()):
                continue
            given = options.get(name, {}) if name == product else {}
            entry = registry[name]
            if held is not None:
                for field_name in entry.inputs_for(given):
                    if field_name not in held:
                        raise missing_input(name, field_name, held, contents.get("sources", ()))
            if entry.preflight is not None:
                entry.preflight(entry.resolve_options(given), contents)


def compute(name: str, dataset: xr.Dataset, *, cache: dict | None = None, **options: Any) -> xr.DataArray:
    """Compute product ``name`` from a model run in the data model (:func:`nwpflow.open_run`).

    ``cache`` (optional) is shared by the products of one job: required products and intermediate
    results are computed once. Returns a float32 :class:`xarray.DataArray` named ``name`` with units,
    ``long_name``, CF ``standard_name`` where one exists, and the options it was computed with.
    """
    product = registry[name]
    resolved = product.resolve_options(options)
    cache = {} if cache is None else cache
    for required in product.requires:
        if required not in dataset.data_vars:
            if (required,) not in cache:
                cache[(required,)] = compute(required, dataset, cache=cache)
            dataset = dataset.assign({required: cache[(required,)]})
    inputs = product.inputs_for(resolved)
    for field_name in inputs:
        if field_name not in dataset.data_vars:
            raise missing_input(name, field_name, dataset.data_vars,
                                dataset.attrs.get("source_files") or ["the dataset"])
    result = product.function(dataset, cache=cache, **resolved).astype("float32")
    result.name = name
    units = product.units
    if "{" in units:  # a generic operator's units: those of the fields its options name
        units = units.format(**{key: dataset[value].attrs.get("units", "1") if value in inputs else value
                                for key, value in resolved.items() if isinstance(value, str)})
    attrs = {"units": units, "long_name": product.description}
    if product.standard_name:
        attrs["standard_name"] = product.standard_name
    if resolved:
        attrs["nwpflow_options"] = ", ".join(f"{k}={v!r}" for k, v in resolved.items())
    for key in ("grid_mapping",):
        if key in dataset[product.inputs[0]].attrs:
            attrs[key] = dataset[product.inputs[0]].attrs[key]
    result.attrs = attrs
    return result
