"""Bad input gets a clear error naming the file and the field, a non-zero exit, and no partial output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nwpflow
from conftest import shared
from nwpflow.cli import main
from nwpflow.errors import ImplausibleValuesError, InputError, OptionError
from nwpflow.products import registry


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


# ----------------------------------------------------------------------------------- no silent wrong answers
# Issue 9: each case reproduced first; the workflow's own cases are in tests/test_fault_matrix.py.


def cut_at_message(source: Path, target: Path, index: int) -> Path:
    """``source`` cut exactly before its message ``index`` (0-based): a sequence of whole messages."""
    from nwpflow.io.formats import message_spans

    data = source.read_bytes()
    target.write_bytes(data[:message_spans(str(source), data)[index][0]])
    return target


def edited(source: Path, target: Path, edit, *, which=lambda handle: True) -> Path:
    """``source`` with ``edit(handle)`` applied (ecCodes) to the messages ``which(handle)`` selects."""
    from nwpflow.io.eccodes_env import eccodes

    with open(source, "rb") as f, open(target, "wb") as out:
        while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                if which(handle):
                    edit(handle)
                out.write(eccodes.codes_get_message(handle))
            finally:
                eccodes.codes_release(handle)
    return target


def named(name):
    from nwpflow.io.eccodes_env import eccodes

    return lambda handle: eccodes.codes_get_string(handle, "shortName") == name


def subset(source: Path, target: Path, keep) -> Path:
    """The messages of ``source`` that ``keep(handle)`` selects (ecCodes), as ``target``."""
    from nwpflow.io.eccodes_env import eccodes

    with open(source, "rb") as f, open(target, "wb") as out:
        while (handle := eccodes.codes_grib_new_from_file(f)) is not None:
            try:
                if keep(handle):
                    out.write(eccodes.codes_get_message(handle))
            finally:
                eccodes.codes_release(handle)
    return target


def test_ifs_file_cut_at_a_message_boundary_is_refused(ifs_file, tmp_path):
    """Case 2: half of the IFS file's 550 messages, cut exactly between two messages, read as 68 of 137
    levels and gave THETA on 68 levels with exit 0. The hybrid coefficients say 137 levels."""
    cut = cut_at_message(ifs_file, tmp_path / "ifs_cut.grib", 275)
    with pytest.raises(InputError, match=r"field 'U': has 69 of its 137 levels \(from the hybrid coefficients "
                                         r"\(pv key\) of message 1 .*\); missing levels 70-137: the file is "
                                         r"truncated, or the model is still writing it"):
        nwpflow.open_run(cut, ["T", "U"])
    code, stderr = cli("compute", "THETA", "THETA_E", "--input", cut, "--output", tmp_path / "out")
    assert code == 1 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith(f"nwpflow: error: file '{cut}', field ") and "missing levels" in stderr
    assert not (tmp_path / "out").exists()


def test_icon_file_cut_at_a_message_boundary_is_refused(run_files, tmp_path):
    """ICON/COSMO messages state their vertical grid's half levels (nlev 81: 80 full levels); the sample's
    file cut after T's level 40 lacks T's levels 41-80 and every later field."""
    cut = cut_at_message(run_files[1], tmp_path / "lfff00010000", 120)  # P 1-80, then T 1-40
    with pytest.raises(InputError, match=r"field 'T': has 40 of its 80 levels \(from the vertical grid's 81 half "
                                         r"levels \(nlev\) .*missing levels 41-80"):
        nwpflow.open_run([run_files[0], cut], ["P", "T"])
    with pytest.raises(InputError, match=r"field 'QV': not found"):
        nwpflow.open_run([run_files[0], cut], ["P", "QV"])


def test_levels_missing_against_the_other_fields_and_hhl(ifs_file, icon_sample, tmp_path):
    """Without the hybrid coefficients or nlev, the other fields of the run say how many levels there are
    (IFS without pv: U has 137 levels, T lacks level 100); across files and formats, HHL's half levels do
    (T on 40 levels in NetCDF beside the constants file's HHL on 81)."""
    from nwpflow.io.eccodes_env import eccodes

    def drop_pv(handle):
        eccodes.codes_set_long(handle, "NV", 0)

    no_pv = edited(ifs_file, tmp_path / "no_pv.grib", drop_pv)
    subset(no_pv, tmp_path / "hole.grib", lambda h: not (named("t")(h) or named("T")(h))
           or eccodes.codes_get_long(h, "level") != 100)
    with pytest.raises(InputError, match=r"field 'T': has 136 of its 137 levels \(from the highest full level "
                                         r"\(137\) of the run's fields\); missing levels 100: the file is truncated"):
        nwpflow.open_run(tmp_path / "hole.grib", ["T"])
    run = nwpflow.open_run([icon_sample / "lfff00000000c", icon_sample / "000" / "lfff00010000"], ["T", "HHL"])
    run = run.drop_vars(["member", "step", "time", "valid_time"]).drop_attrs()
    run[["HHL"]].to_netcdf(tmp_path / "hhl.nc")
    run[["T"]].isel(level=slice(0, 40)).to_netcdf(tmp_path / "t40.nc")
    with pytest.raises(InputError, match=r"field 'T': T on levels 1-40 of the model's 80 \(from half levels of the "
                                         r"other fields\); missing 41-80 .*: a file is truncated"):
        nwpflow.open_run([tmp_path / "hhl.nc", tmp_path / "t40.nc"], ["T", "HHL"])


def test_members_and_lead_times_a_request_names(icon_sample, tmp_path):
    """A request for member 0 at +2 h given member 1's file at +1 h (a mislabelled file) is refused, naming
    the files, the fields and what they hold; the right request returns exactly that member and lead time."""
    files = [icon_sample / "lfff00000000c", icon_sample / "001" / "lfff00010000"]
    with pytest.raises(InputError, match=r"field 'T, P': member 0 not in .*001/lfff00010000' \(they hold member 1\)"):
        nwpflow.open_run(files, ["T", "P"], members=[0])
    with pytest.raises(InputError, match=r"lead time 2 h not in .* \(they hold lead time 1 h\)"):
        nwpflow.open_run(files, ["T", "P"], lead_times=[2])
    both = nwpflow.open_run([icon_sample / "lfff00000000c", *sorted(icon_sample.glob("00[01]/lfff*"))], ["T"],
                            members=[1], lead_times=[0])
    assert int(both["member"]) == 1 and both["step"].values == np.timedelta64(0, "ns") and both["T"].dims == (
        "level", "cell")
    code, stderr = cli("compute", "BRN", "--members", "0", "--lead-times", "1", "--input", *files,
                       "--output", tmp_path / "out")
    assert code == 1 and "member 0 not in" in stderr and not (tmp_path / "out").exists()


def test_impossible_reference_date(run_files, tmp_path):
    """Case 4: month 13 in section 1 of a message gave ``ValueError: Month out of range`` from the header
    scan; it is an error naming the file and the message."""
    data = bytearray(run_files[1].read_bytes())
    from nwpflow.io.formats import message_spans

    start, _ = message_spans(str(run_files[1]), bytes(data))[2]
    data[start + 16 + 14] = 13  # GRIB2 section 1, octet 15: month
    bad = tmp_path / "lfff00010000"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"file '.*lfff00010000': message 3 has an impossible reference time "
                                         r"\(dataDate 20261315, dataTime 0\): the message is corrupt"):
        nwpflow.open_run([bad], ["T"])
    code, stderr = cli("compute", "BRN", "--input", run_files[0], bad, "--output", tmp_path / "out")
    assert code == 1 and stderr.count("\n") == 1 and "impossible reference time" in stderr, stderr


def test_output_that_is_a_file_read_only_and_verbose(run_files, tmp_path):
    """Case 4: an output folder that is a file gave ``FileExistsError`` after computing; it is one line,
    before anything is read. ``--verbose`` adds the traceback."""
    blocker = tmp_path / "results"
    blocker.write_text("not a folder")
    code, stderr = cli("compute", "BRN", "--input", *run_files, "--output", blocker / "000")
    assert code == 1 and stderr == (f"nwpflow: error: output '{blocker}/000/BRN.nc': '{blocker}' is a file, not a "
                                    "folder: remove it or choose another output folder\n")
    assert blocker.read_text() == "not a folder"
    code, stderr = cli("--verbose", "compute", "BRN", "--input", *run_files, "--output", blocker / "000")
    assert code == 1 and "Traceback" in stderr and stderr.rstrip().endswith("another output folder")
    assert "computing" not in stderr and "read " not in stderr  # refused before reading


@pytest.fixture
def small_mount(tmp_path):
    """A real tmpfs of 600 KiB (root only: skips elsewhere), unmounted after the test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    point = tmp_path / "mnt"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(point)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_full_disk_and_read_only_file_system(run_files, small_mount):
    """Case 4 on real file systems: a full disk gave ``RuntimeError: NetCDF: HDF error`` (nothing about
    space), a read-only one ``OSError: [Errno 30]``; each is one line naming the file and what to do, and
    leaves no file, partial or temporary."""
    out = small_mount / "out"
    code, stderr = cli("compute", "BRN", "THETA", "--input", *run_files, "--output", out)
    assert code == 1 and stderr.count("\n") == 1, stderr  # BRN.nc (1.6 MB) does not fit in 600 KiB
    assert stderr.startswith(f"nwpflow: error: output '{out}/BRN.nc': no space left on the device") and \
        "free space there or choose another output folder" in stderr, stderr
    assert [p.name for p in out.iterdir()] == []
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    code, stderr = cli("compute", "BRN", "--input", *run_files, "--output", small_mount / "elsewhere")
    assert code == 1 and stderr == (f"nwpflow: error: output '{small_mount}/elsewhere/BRN.nc': '{small_mount}' is on "
                                    "a read-only file system: choose an output folder on a writable one\n")


def test_options_are_checked_before_anything_is_read_or_written(run_files, tmp_path):
    """Case 5: ``T_PL.levels=[abc]`` failed after THETA_E.nc was written, an option of a product not
    requested was ignored, and ``1e20`` was read as text (an all-NaN level). All are one-line errors before
    any file is read or written; ``1e4`` is the number 10000."""
    out = tmp_path / "out"
    for option, products, expected in [
        ("T_PL.levels=[abc]", ["THETA_E", "T_PL"], "option 'levels' (target pressures [Pa]) must be a non-empty "
                                                   "list of numbers, not ('abc',)"),
        ("T_PL.levels=[85000, 1e20]", ["T_PL"], "must be finite numbers from 0 to 120000, not (85000, 1e+20)"),
        ("T_PL.method=linear", ["BRN"], "options for T_PL, which is not requested (requested: BRN): request it or "
                                        "drop its options"),
        ("CAPE_ML.depth=-5", ["CAPE_ML"], "must be a finite number from 0"),
        ("BRN.colour=red", ["BRN"], "product 'BRN' has no option 'colour' (accepted: none)"),
    ]:
        code, stderr = cli("compute", *products, "--input", *run_files, "--output", out, "--option", option)
        assert code == 1 and stderr.count("\n") == 1 and expected in stderr, (option, stderr)
        assert not out.exists(), option
    with pytest.raises(OptionError, match="must be a text or null, not 5"):  # a path option (PV's grid file)
        registry["PV"].resolve_options({"grid_file": 5})
    assert registry["PV"].resolve_options({"grid_file": "grid.nc"})["grid_file"] == "grid.nc"
    assert main(["compute", "T_PL", "--input", *map(str, run_files), "--output", str(out),
                 "--option", "T_PL.levels=[85000, 1e4]"]) == 0
    import xarray as xr

    with xr.open_dataset(out / "T_PL.nc") as ds:
        np.testing.assert_array_equal(ds["pressure"].values, [85000.0, 10000.0])


def test_implausible_values_are_refused_or_masked(run_files, tmp_path, caplog):
    """Case 6: infinite or absurd values decoded from a file were returned as data (inf in THETA, NaN in
    CAPE). They are an error naming the file, message, field, count and range; with
    ``invalid_values="missing"`` they become missing (NaN) with a warning, and the rest is unchanged."""
    from nwpflow.io.eccodes_env import eccodes

    def poison(handle):
        values = eccodes.codes_get_double_array(handle, "values")
        values[[7, 11, 13]] = [np.inf, -2.5e32, 7e26]
        eccodes.codes_set_string(handle, "packingType", "grid_ieee")
        eccodes.codes_set_double_array(handle, "values", values)

    level = lambda handle: named("T")(handle) and eccodes.codes_get_long(handle, "level") == 50  # noqa: E731
    bad = edited(run_files[1], tmp_path / "lfff00010000", poison, which=level)
    with pytest.raises(ImplausibleValuesError, match=r"file '.*lfff00010000', field 'T': message \d+: 3 of 5000 "
                                                     r"values outside its range 100 to 350 K \(1 not finite; lowest "
                                                     r"-2.5e\+32, highest 7e\+26\)") as error:
        nwpflow.open_run([run_files[0], bad], ["T"])
    assert error.value.count == 3 and error.value.valid_range == (100.0, 350.0)
    good = nwpflow.open_run(run_files, ["T"])
    with caplog.at_level("WARNING", logger="nwpflow"):
        masked = nwpflow.open_run([run_files[0], bad], ["T"], invalid_values="missing")
    assert "3 values set to missing (invalid_values=missing)" in caplog.text
    t = masked["T"].values
    assert np.isnan(t[49, [7, 11, 13]]).all() and np.isnan(t).sum() == 3
    np.testing.assert_array_equal(np.delete(t[49], [7, 11, 13]), np.delete(good["T"].values[49], [7, 11, 13]))
    code, stderr = cli("compute", "THETA", "--input", run_files[0], bad, "--output", tmp_path / "out")
    assert code == 1 and "3 of 5000 values outside its range" in stderr and "--invalid-values missing" in stderr
    assert cli("compute", "THETA", "--invalid-values", "missing", "--input", run_files[0], bad, "--output",
               tmp_path / "out")[0] == 0


def test_absurd_surface_pressure_from_lnsp(ifs_file, tmp_path):
    """A corrupt ``lnsp`` of an IFS file gave surface pressures of 7e26 Pa and levels to match; PS, P and
    HHL derived from it are checked like decoded fields, naming the lnsp message."""
    from nwpflow.io.eccodes_env import eccodes

    def absurd(handle):
        values = eccodes.codes_get_double_array(handle, "values")
        values[5] = 61.8  # exp(61.8) = 7e26 Pa
        eccodes.codes_set_double_array(handle, "values", values)

    bad = edited(ifs_file, tmp_path / "ifs.grib", absurd, which=named("lnsp"))
    with pytest.raises(ImplausibleValuesError, match=r"field 'PS': computed from lnsp \(message 5\): 1 of 1632 "
                                                     r"values outside its range 20000 to 120000 Pa"):
        nwpflow.open_run(bad, ["PS", "T"])


def test_bitmap_missing_values_stay_missing_and_are_not_checked():
    """Missing values of a GRIB bitmap are NaN and never count as implausible, under any setting."""
    path = shared("cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib")
    for mode in ("missing", "ignore"):
        t2m = nwpflow.open_run(path, invalid_values=mode)["T_2M"].values
        assert np.isnan(t2m[:, 0, 0]).all()
    masked = nwpflow.open_run(path, invalid_values="missing")["T_2M"].values
    kept = nwpflow.open_run(path, invalid_values="ignore")["T_2M"].values
    assert np.isnan(masked).all() and np.isnan(kept).sum() == 219  # 3 of 9 points missing in each of 73 messages


def test_single_level_fields_keep_their_level(tmp_path):
    """Case 7: geopotential on 500 hPa alone, for every member, read as ``FI(member, y, x)`` without a level:
    it keeps a ``pressure`` dim of one level. Fields of one level type on different levels each get a dim
    of their own (xarray aligned them to the first one's levels, dropping the other's); cfgrib-made NetCDF
    keeps its scalar level coordinate the same way. A level that says nothing (T_2M at 2 m, surface 0)
    makes no dim."""
    import xarray as xr

    from nwpflow.io.eccodes_env import eccodes

    era5 = shared("ensemble/era5_10members_z_t_500_850.grib")

    def key(handle, name):
        return eccodes.codes_get_long(handle, name)

    def first_time(handle):
        return key(handle, "dataTime") == 0 and key(handle, "dataDate") == 20170101

    z500 = subset(era5, tmp_path / "z500.grib", lambda h: first_time(h) and named("z")(h) and key(h, "level") == 500)
    ds = nwpflow.open_run(z500)
    assert ds["FI"].dims == ("member", "pressure", "y", "x") and ds.sizes["member"] == 10
    np.testing.assert_array_equal(ds["pressure"].values, [50000.0])
    assert ds["pressure"].attrs["units"] == "Pa"
    mixed = subset(era5, tmp_path / "mixed.grib", lambda h: first_time(h) and key(h, "number") == 0 and not (
        named("z")(h) and key(h, "level") == 850))
    ds = nwpflow.open_run(mixed)
    assert ds["FI"].dims == ("pressure_FI", "y", "x") and ds["T"].dims == ("pressure_T", "y", "x")
    np.testing.assert_array_equal(ds["pressure_T"].values, [50000.0, 85000.0])
    np.testing.assert_array_equal(ds["pressure_FI"].values, [50000.0])
    cfgrib = xr.open_dataset(z500, engine="cfgrib", backend_kwargs={"indexpath": ""})
    assert float(cfgrib["isobaricInhPa"]) == 500.0 and "isobaricInhPa" not in cfgrib["z"].dims
    cfgrib.to_netcdf(tmp_path / "z500.nc")
    from_netcdf = nwpflow.open_run(tmp_path / "z500.nc")
    assert "pressure" in from_netcdf["FI"].dims and float(from_netcdf["pressure"][0]) == 50000.0
    np.testing.assert_array_equal(from_netcdf["FI"].values.squeeze(), nwpflow.open_run(z500)["FI"].values.squeeze())
    t2m = nwpflow.open_run(shared("cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib"), invalid_values="ignore")
    assert t2m["T_2M"].dims == ("step", "y", "x")


def test_leftover_temporary_files_are_removed(run_files, tmp_path):
    """Case 8: a job killed while writing leaves ``.BRN.nc.XXXXXXXX.tmp``; the next job for that output
    removes it (and touches no other file)."""
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".BRN.nc.k1ll3d_x.tmp"
    leftover.write_bytes(b"partial")
    other = out / ".notes.tmp"
    other.write_text("mine")
    assert main(["compute", "BRN", "--input", *map(str, run_files), "--output", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp", "BRN.nc"]
