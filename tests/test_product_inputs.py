"""A product whose inputs the run lacks stops before any value is decoded, naming the product, the missing
field (or grid file) and how to provide it; a generic operator reads the field its options name."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import nwpflow
from nwpflow.io.reader import run_contents
from nwpflow.jobs.compute import compute_products
from nwpflow.products import check_inputs, fields_needed, registry


def cli(*args) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "nwpflow.cli", *map(str, args)], capture_output=True, text=True)
    return done.returncode, done.stderr


def test_run_contents_from_headers(icon_sample, ifs_file):
    """What a run holds, from its GRIB headers: the sample's fields and ICON grid; the IFS file's raw fields and
    those computed from them (P, HHL, ...), on a regular grid."""
    files = [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]
    contents = run_contents(files)
    assert {"P", "T", "QV", "QC", "QI", "CLC", "DBZ", "HHL", "HSURF", "W"} <= contents["fields"]
    assert contents["grid_type"] == "unstructured_grid" and len(contents["uuid"]) == 32 and contents["ncell"] == 5000
    ifs = run_contents([ifs_file])
    assert {"T", "QV", "U", "V", "P", "HHL", "HSURF"} <= ifs["fields"] and "QC" not in ifs["fields"]
    assert ifs["grid_type"] == "regular_ll"


@pytest.mark.parametrize(("product", "options", "field"), [
    ("TQC", {}, "QC"),
    ("CLOUD_BASE", {}, "CLC"),
    ("CLOUD_TOP", {"source": "condensate"}, "QC"),
    ("ECHOTOP", {}, "DBZ"),
    ("LAYER_MEAN", {"field": "QI"}, "QI"),
    ("PV", {}, "W"),
])
def test_missing_input_stops_before_reading(ifs_file, tmp_path, product, options, field):
    """The IFS file has no cloud fields, reflectivity or W: each product stops in the job's check of the
    headers, with its name, the field and how to provide it, and writes nothing."""
    contents = run_contents([ifs_file])
    with pytest.raises(nwpflow.InputError) as error:
        check_inputs([product], contents, {product: options})
    message = str(error.value)
    assert f"product {product!r}" in message and f"field {field!r}" in message
    assert "Provide it" in message and "ml_varlist" in message and str(ifs_file) in message
    with pytest.raises(nwpflow.InputError, match=f"product {product!r}"):
        compute_products([product], [ifs_file], output_dir=tmp_path / "out", options={product: options})
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_input_through_the_cli(ifs_file, tmp_path):
    code, stderr = cli("compute", "TQI", "--input", ifs_file, "--output", tmp_path / "out")
    assert code != 0 and "'TQI'" in stderr and "'QI'" in stderr and "Provide it" in stderr


def test_pv_on_icon_without_a_grid_file(icon_sample, tmp_path):
    """A copy of the ICON-like run without its grid file: PV stops before reading, saying that it needs the
    grid's neighbour table and how to give it (option grid_file, or the file beside the run); with the grid
    file named by the option it runs; a grid_file that does not exist is refused by name."""
    run = tmp_path / "run"
    (run / "000").mkdir(parents=True)
    files = [run / "lfff00000000c", run / "000" / "lfff00010000"]
    shutil.copy(icon_sample / "lfff00000000c", files[0])
    shutil.copy(icon_sample / "000" / "lfff00010000", files[1])
    with pytest.raises(nwpflow.InputError) as error:
        check_inputs(["PV"], run_contents(files))
    message = str(error.value)
    assert "product 'PV'" in message and "neighbour table" in message and "grid_file" in message
    assert str(run) in message
    with pytest.raises(nwpflow.InputError, match="no grid file was found"):
        compute_products(["PV_TH"], files, output_dir=tmp_path / "out")  # a product requiring PV: the same
    grid = next(icon_sample.glob("icon_grid_*.nc"))
    written = compute_products(["PV"], files, output_dir=tmp_path / "out", options={"PV": {"grid_file": str(grid)}})
    assert written["PV"].is_file()
    with pytest.raises(nwpflow.InputError, match="no such ICON grid file"):
        check_inputs(["PV"], run_contents(files), {"PV": {"grid_file": str(tmp_path / "nope.nc")}})


def test_generic_operators_read_the_field_their_options_name(icon_sample):
    """fields_needed and the registry's inputs follow the ``field`` option; a required product is computed
    with its defaults."""
    assert fields_needed(["LAYER_MAX"], options={"LAYER_MAX": {"field": "CLC"}}) == ["HHL", "P", "T", "QV", "CLC"]
    assert "W" in fields_needed(["LAYER_MAX"])  # its default field
    assert registry["CLOUD_BASE"].inputs_for({"source": "condensate"}) == ("HHL", "QC", "QI")
    assert set(fields_needed(["H_PV"])) >= {"U", "V", "W", "P", "T", "QV", "HHL"}  # PV's inputs
    ds = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"],
                          fields_needed(["LAYER_MAX"], options={"LAYER_MAX": {"field": "CLC"}}))
    assert nwpflow.compute("LAYER_MAX", ds, field="CLC").attrs["units"] == "%"
    with pytest.raises(nwpflow.InputError, match="product 'LAYER_MAX'.*Provide it"):
        nwpflow.compute("LAYER_MAX", ds, field="DBZ")
