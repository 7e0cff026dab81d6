"""Unit tests of nwpflow.workflow: the helpers the Snakemake rules call (no Snakemake run here)."""

from __future__ import annotations

import copy
import os
import re

import jsonschema
import pytest

from nwpflow import workflow as nwf

from conftest import CONFIG, SCHEMA


# --- names and codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(("hours", "code"), [(0, "0000"), (1, "0001"), (23, "0023"), (24, "0100"),
                                             (33, "0109"), (120, "0500"), (2399, "9923")])
def test_lead_code(hours, code):
    """DDHH as in COSMO/ICON file names: lead 1 h -> lfff00010000, 33 h -> lfff01090000."""
    assert nwf.lead_code(hours) == code


@pytest.mark.parametrize("hours", [-1, 2400, 1.5, True, "1"])
def test_lead_code_rejects(hours):
    with pytest.raises(ValueError, match="lead time"):
        nwf.lead_code(hours)


def test_labels_round_trip():
    for n in (0, 7, 33, 120, 999):
        assert nwf.parse_label(nwf.member_label(n)) == n
        assert nwf.parse_label(nwf.lead_label(n)) == n
    assert nwf.member_label(1) == "001"
    assert nwf.lead_label(33) == "033"


@pytest.mark.parametrize("label", ["1", "0001", "00a", "", "-01"])
def test_parse_label_rejects(label):
    with pytest.raises(ValueError, match="three digits"):
        nwf.parse_label(label)


@pytest.mark.parametrize("bad", [-1, 1000, 2.0, False])
def test_member_label_rejects(bad):
    with pytest.raises(ValueError, match="member"):
        nwf.member_label(bad)


# --- input file names -------------------------------------------------------------------------------


def test_input_file_name_default_pattern():
    assert nwf.input_file_name(nwf.SAMPLE_PATTERN, 0, 0) == "000/lfff00000000"
    assert nwf.input_file_name(nwf.SAMPLE_PATTERN, 2, 1) == "002/lfff00010000"
    assert nwf.input_file_name(nwf.SAMPLE_PATTERN, 12, 33) == "012/lfff01090000"


def test_input_file_name_other_fields():
    pattern = "m{member}/icon_{lead:03d}_{dd:02d}d{hh:02d}h.grib2"
    assert nwf.input_file_name(pattern, 3, 49) == "m3/icon_049_02d01h.grib2"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{member:03d}/lfff{ddhh}{nope}", r"uses nope; allowed fields are \{member\}, \{lead\}"),
        ("lfff{ddhh}0000", r"must contain \{member\}"),
        ("{member}/lfff", "must contain the lead time"),
        ("{member}/lfff{ddhh", "not a valid format string"),
        ("{member:s}/{lead}", "cannot be formatted"),
    ],
)
def test_input_file_name_bad_pattern(pattern, message):
    """A bad run.pattern names the key and the allowed fields."""
    with pytest.raises(nwf.ConfigError, match=message) as info:
        nwf.input_file_name(pattern, 0, 1)
    assert str(info.value).startswith("config key 'run.pattern'")


def test_job_inputs_sample_and_real_run(config):
    assert nwf.job_inputs(config, 1, 33) == ["data/sample/001/lfff01090000", "data/sample/lfff00000000c"]
    real = copy.deepcopy(config)
    real["sample"]["activate"] = False
    real["run"].update(input_dir="/store/ch1/24112600/", constants="c.grib2", pattern="{member}/f{lead:03d}")
    assert nwf.job_inputs(real, 1, 33) == ["/store/ch1/24112600/1/f033", "/store/ch1/24112600/c.grib2"]


def test_sample_files(config):
    """Constants first, then every member and lead time; always in sample.directory."""
    files = nwf.sample_files(config)
    assert files[0] == "data/sample/lfff00000000c"
    assert len(files) == 1 + len(config["members"]) * len(config["lead_times"])
    assert "data/sample/002/lfff00030000" in files
    assert len(set(files)) == len(files)
    real = copy.deepcopy(config)
    real["sample"]["activate"] = False
    assert nwf.sample_files(real) == files


# --- outputs ----------------------------------------------------------------------------------------


def test_templates_mirror_each_other(config):
    """The log and benchmark of a job sit at the same relative path as its output."""
    out = nwf.output_template(config, "BRN")
    log = nwf.log_template("BRN")
    bench = nwf.benchmark_template("BRN")
    assert out == "results/{run}/{member}/{lead}h/BRN.nc"
    assert out.removeprefix("results/").removesuffix(".nc") == log.removeprefix("logs/").removesuffix(".log")
    assert bench.startswith("logs/benchmarks/") and not bench.startswith("benchmarks/")
    assert bench.removeprefix("logs/benchmarks/").removesuffix(".tsv") == log.removeprefix("logs/").removesuffix(".log")
    assert nwf.output_template({"output_dir": "/scratch/out/"}, "BRN").startswith("/scratch/out/{run}/")


def test_final_outputs_match_wildcard_constraints(config):
    """Every product target is matched by the product rule's output pattern under the wildcard constraints."""
    config["products"] = ["BRN"]
    outputs = nwf.product_outputs(config)
    assert outputs == nwf.final_outputs(config)[: len(outputs)]
    assert len(outputs) == len(config["members"]) * len(config["lead_times"])
    assert outputs[0] == "results/sample/000/000h/BRN.nc"
    assert "results/sample/002/003h/BRN.nc" in outputs
    constraints = nwf.wildcard_constraints(config)
    template = re.escape(nwf.output_template(config, "BRN"))
    for name, regex in constraints.items():
        template = template.replace(re.escape("{" + name + "}"), f"(?:{regex})")
    for path in outputs:
        assert re.fullmatch(template, path), path
    assert not re.fullmatch(template, "results/sample/003/000h/BRN.nc")
    assert not re.fullmatch(template, "results/sample/000/004h/BRN.nc")


def test_wildcard_constraints_escape_run_name():
    cfg = {"run": {"name": "ch1.2024-11-26"}, "members": [0], "lead_times": [0]}
    assert re.fullmatch(nwf.wildcard_constraints(cfg)["run"], "ch1.2024-11-26")
    assert not re.fullmatch(nwf.wildcard_constraints(cfg)["run"], "ch1x2024-11-26")


def test_is_activated():
    assert nwf.is_activated({"sample": {"activate": True}}, "sample")
    assert not nwf.is_activated({"sample": {"activate": False}}, "sample")
    assert not nwf.is_activated({"sample": None}, "sample")


def test_numba_cache_env_is_absolute(config):
    env = nwf.numba_cache_env(config)
    assert list(env) == ["NUMBA_CACHE_DIR"]
    assert os.path.isabs(env["NUMBA_CACHE_DIR"])
    assert env["NUMBA_CACHE_DIR"].endswith(config["numba_cache_dir"])


# --- resources --------------------------------------------------------------------------------------


def test_estimate_mem_mb_formula():
    # 1000 cells x 10 levels x 4 B = 40 000 B per field; 3 inputs + 1 output; x 2.
    assert nwf.estimate_mem_mb(1000, 10, 3, safety_factor=2, base_mb=0) == 1  # 320 000 B -> 1 MB
    assert nwf.estimate_mem_mb(2**18, 1, 1, safety_factor=1, base_mb=100) == 100 + 2  # 2 MiB exactly
    # Grows linearly with the domain and the number of fields.
    small = nwf.estimate_mem_mb(100_000, 80, 4, base_mb=0)
    assert nwf.estimate_mem_mb(200_000, 80, 4, base_mb=0) == pytest.approx(2 * small, abs=1)


@pytest.mark.parametrize("kwargs", [dict(cells=0), dict(levels=-1), dict(fields=1.5), dict(safety_factor=0.5)])
def test_estimate_mem_mb_rejects(kwargs):
    args = dict(cells=10, levels=10, fields=1) | kwargs
    with pytest.raises(ValueError):
        nwf.estimate_mem_mb(args.pop("cells"), args.pop("levels"), args.pop("fields"), **args)


def test_domain_size_of_a_real_run(config):
    real = copy.deepcopy(config)
    real["sample"]["activate"] = False
    real["domain"] = {"cells": 1_147_980, "levels": 80}
    assert nwf.domain_size(real) == (1_147_980, 80)


def test_product_mem_mb_uses_registry_inputs(config):
    from nwpflow.products import registry

    real = copy.deepcopy(config)
    real["sample"]["activate"] = False
    real["domain"] = {"cells": 1_147_980, "levels": 80}
    expected = nwf.estimate_mem_mb(
        1_147_980, 80, len(registry["BRN"].inputs),
        safety_factor=real["resources"]["mem_safety_factor"], base_mb=real["resources"]["mem_base_mb"],
    )
    assert nwf.product_mem_mb(real, "BRN") == expected
    assert expected > 5000  # an ICON-CH1 job needs gigabytes, not the default 1 GB


# --- config and schema ------------------------------------------------------------------------------


def _properties(schema, path=""):
    for key, sub in schema.get("properties", {}).items():
        yield f"{path}{key}", sub
        yield from _properties(sub, f"{path}{key}.")


def test_schema_is_complete():
    """Every property has a type, a description and a default; objects allow no unknown keys."""
    schema = nwf.load_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    for key, sub in _properties(schema):
        assert {"type", "description", "default"} <= set(sub), key
        if sub["type"] == "object":
            # records allow no unknown keys; maps keyed by names (product_options, bundles,
            # ensemble.thresholds) give the schema of their values instead
            extra = sub.get("additionalProperties")
            assert extra is False or (isinstance(extra, dict) and "properties" not in sub), key


def test_config_yaml_equals_schema_defaults(config):
    """config/config.yaml spells out exactly the schema's defaults."""
    schema = nwf.load_schema(SCHEMA)
    for key, sub in _properties(schema):
        if sub["type"] == "object":
            continue
        value = config
        for part in key.split("."):
            value = value[part]
        assert value == sub["default"], key


def test_config_yaml_comments_every_key():
    """Every key of config/config.yaml has a comment line right above it."""
    lines = CONFIG.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*[a-z_]+:", line):
            assert lines[i - 1].strip().startswith("#"), line


def test_products_all_is_the_registry(config):
    """`products: all` (the default) is every registered product; the schema lists none itself, so
    that a new product needs no schema change."""
    from nwpflow.products import registry

    assert config["products"] == "all"
    assert nwf.configured_products(config) == sorted(registry)
    assert "enum" not in nwf.load_schema(SCHEMA)["properties"]["products"]["items"]


def test_coerce_config_command_line_strings(config):
    """snakemake --config hands list and mapping items over as strings."""
    schema = nwf.load_schema(SCHEMA)
    cfg = copy.deepcopy(config)
    cfg.update(members=["0", "2"], lead_times=[" 1"], products=["BRN"],
               sample={"activate": "false", "preset": "small", "directory": "data/sample"},
               resources={"mem_safety_factor": "2.5", "mem_base_mb": "512", "runtime": "5"})
    nwf.coerce_config(cfg, schema)
    assert cfg["members"] == [0, 2] and cfg["lead_times"] == [1]
    assert cfg["sample"]["activate"] is False
    assert cfg["resources"] == {"mem_safety_factor": 2.5, "mem_base_mb": 512, "runtime": 5}
    jsonschema.Draft202012Validator(schema).validate(cfg)


def test_coerce_config_leaves_bad_values_for_validation(config):
    schema = nwf.load_schema(SCHEMA)
    cfg = copy.deepcopy(config)
    cfg.update(members=["zero"], threads="2.5")
    nwf.coerce_config(cfg, schema)
    assert cfg["members"] == ["zero"] and cfg["threads"] == "2.5"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(cfg)


def test_check_config_accepts_shipped_config(config):
    nwf.check_config(config)


def test_check_config_unknown_product(config):
    from nwpflow.products import registry

    config["products"] = ["NOPE"]
    with pytest.raises(nwf.ConfigError, match=r"config key 'products': unknown product 'NOPE'; allowed values: all, ") as info:
        nwf.check_config(config)
    assert all(name in str(info.value) for name in registry)


def test_check_config_any_members_for_the_sample(config):
    """The preset's members and lead times are only defaults: write_sample writes any."""
    config["members"] = [0, 7]
    config["lead_times"] = [0, 33]
    nwf.check_config(config)


def test_domain_size_of_the_sample(config):
    from nwpflow.io.sample import PRESETS

    assert nwf.domain_size(config) == (5000, 80) == (PRESETS["small"].grid.ncells, PRESETS["small"].nlev)
    config["sample"]["preset"] = "cosmo-small"
    assert nwf.domain_size(config) == (80 * 60, 80)


def test_check_config_unknown_preset(config):
    config["sample"]["preset"] = "huge"
    with pytest.raises(nwf.ConfigError, match=r"config key 'sample.preset': unknown preset 'huge'; allowed values: .*small"):
        nwf.check_config(config)


def test_check_config_bad_pattern_of_real_run(config):
    config["sample"]["activate"] = False
    config["run"]["pattern"] = "{member}/{step}"
    with pytest.raises(nwf.ConfigError, match="run.pattern"):
        nwf.check_config(config)


# --- the jobs ---------------------------------------------------------------------------------------


def test_sample_job_keeps_snakemake_stderr_intact(tmp_path):
    """A job leaves the file behind Snakemake's stderr alone and logs C-level messages to its own log.

    The COSMO definitions' boot_extra.def opened /dev/stderr with O_TRUNC, which emptied a user's
    ``snakemake ... 2> run.log`` (NUL bytes in place of everything Snakemake had written before the
    first job); nwpflow's own boot_extra.def replaces it (nwpflow/io/eccodes_env.py).
    """
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from nwpflow.jobs.sample import run_sample_job\n"
        "with open(sys.argv[1], 'w') as log:\n"
        "    sys.stderr = log\n"
        "    run_sample_job(sys.argv[2], preset='small', members=[0], lead_times=[0],\n"
        "                   expected=[sys.argv[2] + '/lfff00000000c', sys.argv[2] + '/000/lfff00000000'])\n"
    )
    outer = tmp_path / "snakemake-stderr.txt"
    outer.write_text("written by snakemake before the job\n")
    log = tmp_path / "sample.log"
    with open(outer, "a") as err:
        proc = subprocess.run([sys.executable, "-c", script, str(log), str(tmp_path / "run")],
                              stderr=err, stdout=err, timeout=300)
    assert proc.returncode == 0, outer.read_text(errors="replace")
    assert outer.read_bytes().startswith(b"written by snakemake before the job\n")
    assert b"\0" not in outer.read_bytes()
    text = log.read_text()
    assert "\0" not in text
    assert text.startswith(text.splitlines()[0]) and "writing sample preset 'small'" in text.splitlines()[0]
    assert "wrote 2 files" in text


# --- job processes: xarray's dask probe --------------------------------------------------------------


def run_python(code: str) -> str:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_job_processes_skip_xarray_dask_probe():
    """A job process makes xarray objects without importing dask.array (the probe costs 0.4-0.9 s); this
    relies on xarray's duck-array cache, so a change of xarray's internals shows up here."""
    out = run_python(
        "import sys\n"
        "from nwpflow.jobs.frame import skip_xarray_dask_probe as _skip_xarray_dask_probe\n"
        "_skip_xarray_dask_probe()\n"
        "import numpy as np, xarray as xr\n"
        "a = xr.DataArray(np.zeros((2, 3)), dims=('x', 'y')) + 1\n"
        "print('dask.array' in sys.modules, float(a.sum()))\n"
    )
    assert out == "False 6.0"


def test_dask_arrays_still_recognised_where_dask_array_was_imported():
    """Where dask.array is imported before a job's set-up, nothing is recorded: xarray keeps treating dask
    arrays lazily (a chunked DataArray stays a dask array)."""
    out = run_python(
        "import dask.array as da, xarray as xr\n"
        "from nwpflow.jobs.frame import skip_xarray_dask_probe as _skip_xarray_dask_probe\n"
        "_skip_xarray_dask_probe()\n"
        "a = xr.DataArray(da.zeros((4, 4), chunks=2), dims=('x', 'y'))\n"
        "print(type(a.data).__module__.split('.')[0], a.chunks is not None)\n"
    )
    assert out == "dask True"


def test_end_job_process_flushes_the_log_and_exits_0(tmp_path):
    """A script ends with end_job_process (os._exit after flushing): the exit status is 0 and what the
    job logged and printed last is in its log and on stdout, not lost in a buffer."""
    log = tmp_path / "job.log"
    out = run_python(
        "import logging, sys\n"
        f"sys.stderr = open({str(log)!r}, 'w')\n"
        "from nwpflow.jobs.frame import setup_logging as _setup_logging, end_job_process\n"
        "_setup_logging()\n"
        "logging.getLogger('nwpflow').info('last words')\n"
        "print('printed', end='')\n"
        "end_job_process()\n"
        "print('never')\n"
    )
    assert out == "printed"
    assert log.read_text().rstrip().endswith("INFO nwpflow: last words")
