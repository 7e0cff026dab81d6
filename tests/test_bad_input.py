"""Bad input gets a clear error naming the file and the field, a non-zero exit, and no partial output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nwpflow
from nwpflow.cli import main
from nwpflow.errors import InputError


@pytest.fixture
def run_files(icon_sample):
    return [icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"]


def cli(*args) -> tuple[int, str]:
    """Run the real ``nwpflow`` entry point in a subprocess; return its exit code and stderr."""
    done = subprocess.run([sys.executable, "-m", "nwpflow.cli", *map(str, args)], capture_output=True, text=True)
    return done.returncode, done.stderr


def test_missing_field_names_field_and_files(icon_sample, tmp_path):
    data = icon_sample / "000" / "lfff00010000"  # without the constants file: no HHL, no HSURF
    with pytest.raises(InputError) as error:
        nwpflow.open_run([data], ["T", "HHL"])
    message = str(error.value)
    assert "'HHL'" in message and str(data) in message and "not found" in message
    code, stderr = cli("compute", "BRN", "--input", data, "--output", tmp_path / "out")
    assert code != 0 and "HHL" in stderr and str(data) in stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_truncated_grib(run_files, tmp_path):
    truncated = tmp_path / "lfff00010000"
    content = run_files[1].read_bytes()
    truncated.write_bytes(content[: len(content) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as error:
        nwpflow.open_run([run_files[0], truncated], ["T"])
    assert str(truncated) in str(error.value)


def test_corrupt_end_marker(run_files, tmp_path):
    corrupt = tmp_path / "lfff00010000"
    content = bytearray(run_files[1].read_bytes())
    end = content.find(b"7777")
    content[end:end + 4] = b"XXXX"  # the first message's end section is destroyed
    corrupt.write_bytes(bytes(content))
    with pytest.raises(InputError, match="message 1") as error:
        nwpflow.open_run([corrupt], ["T"])
    assert str(corrupt) in str(error.value)


@pytest.mark.parametrize("content", [b"", b"this is not a model output file\n"])
def test_not_grib_nor_netcdf(tmp_path, content):
    path = tmp_path / "lfff00010000"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        nwpflow.open_run([path])
    assert str(path) in str(error.value)


def test_grids_that_disagree(icon_sample, cosmo_sample):
    data = icon_sample / "000" / "lfff00010000"
    other_constants = cosmo_sample / "lfff00000000c"  # the COSMO grid's HHL with ICON data
    with pytest.raises(InputError, match="another grid") as error:
        nwpflow.open_run([other_constants, data], ["T", "HHL"])
    message = str(error.value)
    assert str(other_constants) in message or str(data) in message
    assert "'T'" in message or "'HHL'" in message


def test_duplicate_messages(run_files, tmp_path):
    doubled = tmp_path / "lfff00010000"
    doubled.write_bytes(run_files[1].read_bytes() * 2)
    with pytest.raises(InputError, match="duplicates") as error:
        nwpflow.open_run([doubled], ["T"])
    assert "'T'" in str(error.value) and str(doubled) in str(error.value)


def test_unknown_product(run_files, tmp_path):
    with pytest.raises(nwpflow.UnknownProductError, match="known products: .*BRN"):
        nwpflow.compute("NOPE", nwpflow.open_run(run_files, ["T"]))
    code, stderr = cli("compute", "NOPE", "--input", *run_files, "--output", tmp_path)
    assert code != 0 and "unknown product 'NOPE'" in stderr and "BRN" in stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_output_untouched_and_no_partial_file(run_files, tmp_path):
    out = tmp_path / "out"
    assert main(["compute", "BRN", "--input", *map(str, run_files), "--output", str(out)]) == 0
    good = (out / "BRN.nc").read_bytes()
    truncated = tmp_path / "lfff00010000"
    truncated.write_bytes(run_files[1].read_bytes()[:5000])
    code, stderr = cli("compute", "BRN", "--input", run_files[0], truncated, "--output", out)
    assert code != 0 and str(truncated) in stderr
    assert (out / "BRN.nc").read_bytes() == good
    assert sorted(p.name for p in out.iterdir()) == ["BRN.nc"]  # no temporary file left behind


def test_output_write_failure_leaves_no_file(run_files, tmp_path, monkeypatch):
    """A write that dies half-way (here: the NetCDF library raising) leaves neither the final name nor
    the temporary file behind."""
    import xarray as xr

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail)
    with pytest.raises(OSError, match="disk full"):
        nwpflow.jobs.compute.compute_products(["BRN"], run_files, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_input_file(tmp_path):
    code, stderr = cli("compute", "BRN", "--input", tmp_path / "nope", "--output", tmp_path)
    assert code != 0 and "no such file" in stderr and str(tmp_path / "nope") in stderr


def test_bad_option(run_files):
    with pytest.raises(nwpflow.OptionError, match="no option 'threshold'"):
        nwpflow.compute("BRN", nwpflow.open_run(run_files, ["P", "T", "QV", "U", "V", "HHL", "HSURF"]),
                        threshold=1)


def test_cli_products_lists_inputs_and_units(capsys):
    assert main(["products"]) == 0
    text = capsys.readouterr().out
    assert "BRN" in text and "HHL" in text and "HSURF" in text


def test_sample_cli_writes_a_readable_run(tmp_path):
    script = Path(sys.executable).parent / "nwpflow"  # the console script pip installed beside python
    assert script.exists(), f"{script} missing: the package's [project.scripts] entry is not installed"
    done = subprocess.run([str(script), "sample", "--preset", "small", "--members", "0", "--lead-times", "0",
                           "--output", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ds = nwpflow.open_run([tmp_path / "lfff00000000c", tmp_path / "000" / "lfff00000000"], ["T", "HHL"])
    assert ds.sizes["level"] == 80 and ds.sizes["half_level"] == 81
