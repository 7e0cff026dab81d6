"""Unit tests of the issue-4 parts of nwpflow.workflow: product sets, products of products, bundles,
product options, ensemble and time products, incremental runs (which inputs are complete) and the
numba warm-up stamp. No Snakemake run here (tests/test_workflow.py runs Snakemake)."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import jsonschema
import pytest

from nwpflow import workflow as nwf
from nwpflow.io.formats import grib_complete

from conftest import SCHEMA


def needs(*products):
    from nwpflow.products import registry

    missing = [p for p in products if p not in registry]
    return pytest.mark.skipif(bool(missing), reason=f"products {missing} are not registered yet")


# --- product sets and products of products ----------------------------------------------------------


@needs("HPBL", "BRN")
def test_required_products_come_first():
    """HPBL consumes BRN: BRN is written too, and before HPBL."""
    assert nwf.required_products(["HPBL"]) == ["BRN", "HPBL"]
    assert nwf.required_products(["BRN", "HPBL"]) == ["BRN", "HPBL"]


@needs("HPBL", "BRN")
def test_required_files_only_outside_the_job(config):
    """HPBL's own job reads BRN.nc; a bundle that computes BRN itself reads no BRN file."""
    assert nwf.required_files(config, ["HPBL"], 1, 3) == ["results/sample/001/003h/BRN.nc"]
    assert nwf.required_files(config, ["BRN", "HPBL"], 1, 3) == []
    assert nwf.required_files(config, ["BRN"], 1, 3) == []


@needs("HPBL", "BRN")
def test_written_products_include_requirements(config):
    config["products"] = ["HPBL"]
    assert nwf.written_products(config) == ["BRN", "HPBL"]
    assert nwf.configured_products(config) == ["HPBL"]
    # targets are the configured products; BRN is built as HPBL's input
    assert all(path.endswith("HPBL.nc") for path in nwf.product_outputs(config))


# --- bundles ------------------------------------------------------------------------------------------


def test_bundle_all_takes_what_no_other_bundle_lists(config):
    config["bundles"] = {"first": ["BRN"], "rest": "all"}
    resolved = nwf.bundles(config)
    assert resolved["first"] == ["BRN"]
    assert "BRN" not in resolved["rest"]
    assert sorted(resolved["first"] + resolved["rest"]) == sorted(nwf.written_products(config))
    assert nwf.bundle_of(config)["BRN"] == "first"
    nwf.check_config(config)


@pytest.mark.parametrize(
    ("bundles", "message"),
    [
        ({"a": ["NOPE"]}, r"config key 'bundles.a': product 'NOPE' is not computed by this config; allowed values: .*BRN"),
        ({"a": ["BRN"], "b": ["BRN"]}, r"config key 'bundles.b': product 'BRN' is already in bundle 'a'"),
        ({"a": "all", "b": "all"}, r"config key 'bundles': only one bundle can be `all`"),
        ({"Bad-Name": ["BRN"]}, r"config key 'bundles': bundle name 'Bad-Name'"),
    ],
)
def test_bad_bundles_name_the_key(config, bundles, message):
    config["bundles"] = bundles
    with pytest.raises(nwf.ConfigError, match=message):
        nwf.check_config(config)


def test_bundle_mem_counts_each_field_once(config):
    """A bundle holds each distinct input once: less than the sum of its products' jobs."""
    config["products"] = ["BRN"]
    one = nwf.product_mem_mb(config, "BRN")
    assert nwf.bundle_mem_mb(config, ["BRN"]) == one
    products = nwf.written_products({**config, "products": "all"})
    if len(products) > 2:
        bundle = nwf.bundle_mem_mb(config, products)
        assert one < bundle < sum(nwf.product_mem_mb(config, p) for p in products)


# --- product options --------------------------------------------------------------------------------


def _product_with_choices():
    from nwpflow.products import registry

    for product in registry.values():
        for name, option in product.options.items():
            if option.choices and all(isinstance(c, str) for c in option.choices):
                return product.name, name, option.choices
    pytest.skip("no registered product has an option with text choices")


def test_product_options_checked_against_the_registry(config):
    product, option, choices = _product_with_choices()
    config["product_options"] = {product: {option: choices[-1]}}
    nwf.check_config(config)
    assert nwf.product_options(config, product) == {option: choices[-1]}
    config["product_options"] = {product: {option: "nope"}}
    with pytest.raises(nwf.ConfigError, match=rf"config key 'product_options.{product}.{option}': .*allowed values: "
                                              rf"{', '.join(map(repr, choices))}"):
        nwf.check_config(config)
    config["product_options"] = {product: {"colour": 1}}
    with pytest.raises(nwf.ConfigError, match=rf"'product_options.{product}.colour': {product} has no option 'colour'; "
                                              r"allowed options: "):
        nwf.check_config(config)
    config["product_options"] = {"NOPE": {}}
    with pytest.raises(nwf.ConfigError, match=r"'product_options': unknown product 'NOPE'; allowed values: .*BRN"):
        nwf.check_config(config)


@needs("T_PL")
def test_product_options_from_the_command_line_get_their_types(config):
    """snakemake --config hands list items over as text: they take the type of the option's default."""
    config["product_options"] = {"T_PL": {"levels": ["85000", "50000"]}}
    nwf.check_config(config)
    levels = nwf.product_options(config, "T_PL")["levels"]
    assert list(levels) == [85000, 50000] and all(isinstance(v, int) for v in levels)


# --- ensemble and time products -------------------------------------------------------------------


def test_time_products_only_windows_the_lead_times_cover(config):
    """Lead times 0..3 h: 1 h and 3 h windows exist, 6 h and 24 h do not."""
    names = nwf.time_products(config)
    assert "TOT_PREC_sum_1h" in names and "TOT_PREC_sum_3h" in names
    assert "TOT_PREC_sum_6h" not in names and "T_2M_max_24h" not in names
    assert names["VMAX_10M_max_3h"] == ("VMAX_10M", "max", 3)
    config["lead_times"] = list(range(34))
    assert {"TOT_PREC_sum_24h", "T_2M_max_24h", "T_2M_min_24h"} <= set(nwf.time_products(config))


def test_time_product_names_match_the_fanin_variables(config):
    """The file name of a time product (from config windows in hours) is the variable name the time
    statistics give it (nwpflow.products.fanin, from any window spelling)."""
    from nwpflow.products import fanin

    config["time_statistics"] = {"activate": True, "fields": [
        {"field": "TOT_PREC", "kind": "accumulation", "windows": [3]}, {"field": "T_2M", "kind": "max", "windows": [24]},
        {"field": "VMAX_10M", "kind": "mean", "windows": [1]}]}
    config["lead_times"] = list(range(25))
    for name, (field, kind, window) in nwf.time_products(config).items():
        assert name == fanin.time_variable_name(field, kind, f"{window}h") == fanin.time_variable_name(field, kind, window)


def test_time_inputs_are_model_files_or_product_files(config):
    assert nwf.time_inputs(config, "TOT_PREC_sum_1h", 2) == [
        f"data/sample/002/lfff000{t}0000" for t in range(4)]
    config["time_statistics"]["fields"].append({"field": "BRN", "kind": "max", "windows": [2]})
    assert nwf.time_inputs(config, "BRN_max_2h", 0)[1] == "results/sample/000/001h/BRN.nc"


def test_ensemble_outputs(config):
    config["products"] = ["BRN"]
    outputs = nwf.ensemble_outputs(config)
    assert [p for p in outputs if "/ensemble/0" in p] == [f"results/sample/ensemble/00{t}h/BRN.nc" for t in range(4)]
    assert "results/sample/ensemble/time/TOT_PREC_sum_1h.nc" in outputs
    assert nwf.ensemble_thresholds(config, "TOT_PREC_sum_1h") == [0.1, 1.0, 5.0]
    config["members"] = [0]
    assert nwf.ensemble_outputs(config) == []  # one member: no ensemble


def test_bad_ensemble_and_time_config(config):
    bad = copy.deepcopy(config)
    bad["ensemble"]["thresholds"] = {"NOPE": [1.0]}
    with pytest.raises(nwf.ConfigError, match=r"'ensemble.thresholds': unknown product 'NOPE'; allowed values: .*TOT_PREC_sum_1h"):
        nwf.check_config(bad)
    bad = copy.deepcopy(config)
    bad["time_statistics"]["fields"][0]["field"] = "RAIN"
    with pytest.raises(nwf.ConfigError, match=r"'time_statistics.fields\[0\].field': unknown field 'RAIN'; allowed values: .*TOT_PREC"):
        nwf.check_config(bad)


def test_schema_rejects_unknown_formats_packings_and_statistics(config):
    validator = jsonschema.Draft202012Validator(nwf.load_schema(SCHEMA))
    for key, value in [("formats", ["png"]), ("grib2", {"packing": "jpeg"}), ("ensemble", {"statistics": ["median"]}),
                       ("time_statistics", {"fields": [{"field": "T_2M", "kind": "sum", "windows": [1]}]})]:
        bad = copy.deepcopy(config)
        bad[key] = value if key == "formats" else {**bad.get(key, {}), **value}
        with pytest.raises(jsonschema.ValidationError, match=r"is not one of \["):
            validator.validate(bad)


# --- incremental: completeness of the inputs -----------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A tiny ICON-like run: members 0, 1 x lead times 0, 1, 2 h."""
    import dataclasses

    from nwpflow.io.sample import PRESETS, IconGrid, write_sample

    directory = tmp_path_factory.mktemp("tiny_run")
    preset = dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=50))
    write_sample(directory, preset, members=[0, 1], lead_times=[0, 1, 2])
    return directory


def _real_run(config, directory, **run):
    config["sample"]["activate"] = False
    config["run"].update(input_dir=str(directory), **run)
    config["members"], config["lead_times"] = [0, 1], [0, 1, 2]
    config["incremental"] = True
    return config


def test_grib_complete_detects_truncation(tiny_run, tmp_path):
    """A whole file is complete; cut anywhere inside a message, it is not (the reader would fail)."""
    from nwpflow.errors import InputError
    from nwpflow.io import grib

    path = tiny_run / "000" / "lfff00010000"
    assert grib_complete(path)
    data = path.read_bytes()
    cut = tmp_path / "cut"
    for size in (len(data) - 1, len(data) // 2, 10, 0):
        cut.write_bytes(data[:size])
        assert not grib_complete(cut), size
    # the reader agrees on the half file
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        grib.release(grib.scan(cut))
    cut.write_bytes(b"no GRIB here at all")
    assert not grib_complete(cut)
    assert not grib_complete(tmp_path / "missing")


def test_available_inputs_missing_truncated_marker_age(tiny_run, tmp_path, config):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    _real_run(config, run)
    everything = {(m, t) for m in (0, 1) for t in (0, 1, 2)}
    assert nwf.available_inputs(config) == everything
    (run / "001" / "lfff00020000").unlink()  # not written yet
    late = run / "000" / "lfff00010000"
    late.write_bytes(late.read_bytes()[:-100])  # being written
    assert nwf.available_inputs(config) == everything - {(1, 2), (0, 1)}
    # the product targets follow; the ensemble waits for every member, time products for every lead time
    config["products"] = ["BRN"]
    products = nwf.product_outputs(config, nwf.available_inputs(config))
    assert len(products) == 4 and not any("001/002h" in p or "000/001h" in p for p in products)
    outputs = nwf.final_outputs(config)
    assert [p for p in outputs if "/ensemble/" in p] == ["results/sample/ensemble/000h/BRN.nc"]
    assert not [p for p in outputs if "/time/" in p]
    # a completion marker, where configured, is needed too
    config["run"]["ready_pattern"] = "{member:03d}/lfff{ddhh}0000.ready"
    assert nwf.available_inputs(config) == set()
    (run / "000" / "lfff00000000.ready").touch()
    assert nwf.available_inputs(config) == {(0, 0)}
    # files younger than min_age_s do not count
    config["run"].update(ready_pattern="", min_age_s=3600)
    assert nwf.available_inputs(config) == set()
    old = time.time() - 7200
    for path in run.rglob("lfff*"):
        os.utime(path, (old, old))
    assert nwf.available_inputs(config) == everything - {(1, 2), (0, 1)}


def test_available_inputs_of_the_sample_are_all(config):
    config["incremental"] = True
    assert nwf.available_inputs(config) == {(m, t) for m in config["members"] for t in config["lead_times"]}


# --- the numba warm-up stamp --------------------------------------------------------------------------


def test_warm_stamp_lies_in_the_cache_and_follows_the_code_by_content(config, monkeypatch):
    """The stamp is named by the content identity of the compiled code and numba's version: a touch of a
    kernel changes nothing (numba's own cache keys its entries by content too), another numba does."""
    from importlib import metadata

    from nwpflow.identity import module_file

    stamp = nwf.warm_stamp(config)
    assert stamp.startswith(config["numba_cache_dir"] + "/nwpflow-warm-") and stamp.endswith(".done")
    assert nwf.warm_stamp(config) == stamp  # stable
    kernel = module_file("nwpflow.kernels.brn")
    before = kernel.stat()
    try:
        os.utime(kernel, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        assert nwf.warm_stamp(config) == stamp
    finally:
        os.utime(kernel, ns=(before.st_atime_ns, before.st_mtime_ns))
    version = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.0.1" if name == "numba" else version(name))
    assert nwf.warm_stamp(config) != stamp
