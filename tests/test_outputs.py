"""Outputs fit to keep: compressed NetCDF that keeps float32 bit for bit, the run's grid written once and
named by each product, a provenance record in every file, files that pass the CF checker, and damaged
files that are never taken as whole."""

from __future__ import annotations

import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from conftest import ROOT, shared
from nwpflow import provenance
from nwpflow.io.grid import read_grid, write_grid
from nwpflow.io.integrity import file_complete, hdf5_end
from nwpflow.io.writer import COMPRESSION, write_netcdf
from nwpflow.jobs.compute import compute_products
from nwpflow.jobs.fanin import compute_ensemble_products

ICON_NETCDF = "icon/lfff00010000_lon_0.152-0.154_lat_0.8745-0.8755_cell.nc"


def inputs(sample: Path, member: int = 0) -> list[str]:
    return [str(sample / f"{member:03d}" / "lfff00010000"), str(sample / "lfff00000000c")]


@pytest.fixture(scope="module")
def written(icon_sample, tmp_path_factory):
    """THETA_E (3-D) and CAPE_ML (2-D) of two members with the run's grid file, and their ensemble statistics."""
    out = tmp_path_factory.mktemp("outputs")
    grid = write_grid(read_grid([icon_sample / "lfff00000000c"]), out / "grid.nc")
    files = {}
    for member in (0, 1):
        files[member] = compute_products(["THETA_E", "CAPE_ML"], inputs(icon_sample, member),
                                         outputs={p: out / f"{member:03d}" / "001h" / f"{p}.nc"
                                                  for p in ("THETA_E", "CAPE_ML")},
                                         formats=["netcdf", "grib2"], grid=grid)
    ensemble = compute_ensemble_products([files[m]["THETA_E"] for m in (0, 1)], out / "ensemble" / "001h" / "THETA_E.nc",
                                         quantiles=[0.5], grid=grid)
    return {"grid": grid, "files": files, "ensemble": ensemble, "out": out}


def test_netcdf_is_compressed_chunked_per_level_and_bit_exact(written, icon_sample, tmp_path):
    path = written["files"][0]["THETA_E"]
    with netCDF4.Dataset(path) as ds:
        variable = ds["THETA_E"]
        filters = variable.filters()
        assert {k: filters[k] for k in ("zlib", "shuffle", "fletcher32", "complevel")} == {
            "zlib": True, "shuffle": True, "fletcher32": True, "complevel": COMPRESSION["complevel"]}
        assert variable.chunking() == [1, ds.dimensions["cell"].size]  # one chunk per level
        stored = variable[:].data
    # the same product written without any filter: the same float32 bits
    import nwpflow

    result = nwpflow.compute("THETA_E", nwpflow.open_run(inputs(icon_sample)))
    np.testing.assert_array_equal(stored, result.values.astype(np.float32), strict=True)
    plain = tmp_path / "plain.nc"
    result.to_netcdf(plain)
    assert os.path.getsize(path) < 0.75 * os.path.getsize(plain)  # the sample's float32 noise: ~60 % measured


def test_products_name_the_grid_file_instead_of_holding_coordinates(written):
    for path in (written["files"][0]["THETA_E"], written["files"][1]["CAPE_ML"], written["ensemble"]):
        with netCDF4.Dataset(path) as ds:
            assert not {"latitude", "longitude", "clat", "clon"} & set(ds.variables), path
            assert ds.getncattr("grid_file") == os.path.relpath(written["grid"], Path(path).parent)
            assert (Path(path).parent / ds.getncattr("grid_file")).resolve() == Path(written["grid"]).resolve()
            with netCDF4.Dataset(written["grid"]) as grid:
                assert ds.getncattr("uuidOfHGrid") == grid.getncattr("uuidOfHGrid")
                assert ds.dimensions["cell"].size == grid.dimensions["cell"].size


def test_the_grid_file_holds_the_cell_centres_of_the_run(written, icon_sample):
    import nwpflow

    reference = nwpflow.open_run([icon_sample / "lfff00000000c"], ["HSURF"])  # CLAT, CLON as coordinates
    with xr.open_dataset(written["grid"]) as grid:
        # ICON's GRIB holds the centres as float32: the grid file has exactly those values, as float64
        np.testing.assert_array_equal(grid["clat"].values, reference["latitude"].values.astype(np.float32))
        np.testing.assert_array_equal(grid["clon"].values, reference["longitude"].values.astype(np.float32))
        assert grid["clat"].attrs["standard_name"] == "latitude" and grid["clat"].dtype == np.float64
        assert "mesh" not in grid  # no vertices in a GRIB constants file: no UGRID mesh


def test_a_grid_with_vertices_becomes_a_ugrid_mesh(tmp_path):
    source = shared(ICON_NETCDF)
    grid = read_grid([source])
    path = write_grid(grid, tmp_path / "grid.nc")
    with netCDF4.Dataset(source) as raw:
        clat_bnds = np.degrees(raw["clat_bnds"][:].data.astype(np.float64))
        clon_bnds = np.degrees(raw["clon_bnds"][:].data.astype(np.float64))
    with xr.open_dataset(path) as ds:
        assert "UGRID-1.0" in ds.attrs["Conventions"]
        assert ds["mesh"].attrs["cf_role"] == "mesh_topology" and ds["mesh"].attrs["face_node_connectivity"] == "face_node"
        np.testing.assert_array_equal(ds["clat_bnds"].values, clat_bnds)
        # every cell's vertices, looked up through the connectivity, are the input's (to the 1e-9° rounding)
        nodes = ds["face_node"].values
        np.testing.assert_allclose(ds["node_lat"].values[nodes], clat_bnds, atol=1e-9, rtol=0)
        np.testing.assert_allclose(ds["node_lon"].values[nodes], clon_bnds, atol=1e-9, rtol=0)
        assert ds.sizes["node"] < nodes.size  # cells share vertices: each is stored once


def test_every_file_carries_its_provenance(written, icon_sample):
    path = written["files"][0]["THETA_E"]
    record = provenance.read(path)
    assert record["product"] == "THETA_E" and record["kind"] == "product"
    assert record["options"] == {"method": "bolton", "saturation": "tetens"}  # the defaults, written out
    assert record["code"]["modules"]["nwpflow.kernels.thermo"].startswith("xxh3_128:")
    assert [i["path"] for i in record["inputs"]] == inputs(icon_sample)
    for entry in record["inputs"]:
        assert entry["digest"] == provenance.file_digest(entry["path"])
        assert entry["bytes"] == os.path.getsize(entry["path"])
    for library in ("python", "numpy", "numba", "llvmlite", "xarray", "dask", "netCDF4", "eccodes",
                    "eccodes library", "eccodes-cosmo-resources-python", "snakemake"):
        assert record["software"][library], library
    assert record["run"]["host"] and record["run"]["threads"] >= 1
    assert record["nwpflow"]["commit"] is None or len(record["nwpflow"]["commit"]) == 40
    # GRIB2: the same record beside the file
    grib = Path(path).with_suffix(".grib2")
    assert provenance.comparable(provenance.read(grib)) == provenance.comparable(record)
    assert provenance.read(provenance.sidecar_path(grib)) == provenance.read(grib)
    ensemble = provenance.read(written["ensemble"])
    assert ensemble["kind"] == "ensemble" and ensemble["options"]["quantiles"] == [0.5]
    assert [i["path"] for i in ensemble["inputs"]] == [str(written["files"][m]["THETA_E"]) for m in (0, 1)]


def nwpflow_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nwpflow.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_provenance_command_prints_and_checks(written, icon_sample, tmp_path):
    import shutil

    # a copy of the inputs that the test may change
    sample = tmp_path / "sample"
    for name in ("000/lfff00010000", "lfff00000000c"):
        (sample / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(icon_sample / name, sample / name)
    out = tmp_path / "out"
    compute_products(["BRN"], inputs(sample), output_dir=out)
    shown = nwpflow_cli("provenance", str(out / "BRN.nc"), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "product     BRN" in shown.stdout and "nwpflow.kernels.brn" in shown.stdout
    checked = nwpflow_cli("provenance", "--check", str(out / "BRN.nc"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "every input file has its recorded digest" in checked.stdout
    assert "computes this product with the same code" in checked.stdout
    data = bytearray((sample / "000" / "lfff00010000").read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of one input
    (sample / "000" / "lfff00010000").write_bytes(bytes(data))
    changed = nwpflow_cli("provenance", "--check", str(out / "BRN.nc"), cwd=tmp_path)
    assert changed.returncode == 1
    assert "lfff00010000: digest" in changed.stdout and "not what the recorded inputs" in changed.stderr
    # the code: a record of other code is named module by module
    record = provenance.read(out / "BRN.nc")
    record["code"]["modules"]["nwpflow.kernels.brn"] = "xxh3_128:" + "0" * 32
    record["code"]["digest"] = "xxh3_128:" + "1" * 32
    assert provenance.code_differences(record) == ["nwpflow.kernels.brn: changed"]
    missing = nwpflow_cli("provenance", str(tmp_path / "none.nc"), cwd=tmp_path)
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_truncated_and_corrupt_files_are_not_whole(written, tmp_path):
    path = Path(written["files"][0]["THETA_E"])
    data = path.read_bytes()
    assert file_complete(path) and hdf5_end(path) == len(data)
    for cut in (len(data) - 1, len(data) // 2, 100):
        (tmp_path / "cut.nc").write_bytes(data[:cut])
        assert not file_complete(tmp_path / "cut.nc"), cut
    grib = path.with_suffix(".grib2")
    assert file_complete(grib)
    (tmp_path / "cut.grib2").write_bytes(grib.read_bytes()[:-10])
    assert not file_complete(tmp_path / "cut.grib2")
    # a flipped byte inside the data (the chunks fill the middle of the file): HDF5's Fletcher-32 checksum
    # makes the read fail, never return wrong values
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0x55
    (tmp_path / "corrupt.nc").write_bytes(bytes(corrupt))
    with pytest.raises((OSError, RuntimeError)):
        with netCDF4.Dataset(tmp_path / "corrupt.nc") as ds:
            ds["THETA_E"][:]


# --- CF conventions ------------------------------------------------------------------------------------

STANDARD_NAMES = ROOT / "tests" / "data" / "cf-standard-name-table-93.xml.xz"
"""CF Standard Name Table version 93 (cfconventions.org, CEDA), as compliance-checker 6.1 ships it: cfchecker
would download it, and the tests have no network."""

EMPTY_TABLE = '<?xml version="1.0"?>\n<standard_table><version_number>0</version_number><date>none</date></standard_table>\n'
"""Area types and region names, which no nwpflow file uses: empty tables, so that any use would be an error."""


UGRID_VARIABLES = ("mesh", "face_node")


@pytest.fixture(scope="module")
def cf_checker(tmp_path_factory):
    cfchecks = pytest.importorskip("cfchecker.cfchecks", reason="cfchecker is a test dependency (.[test])")
    tables = tmp_path_factory.mktemp("cf_tables")
    (tables / "standard-names.xml").write_bytes(lzma.decompress(STANDARD_NAMES.read_bytes()))
    (tables / "empty.xml").write_text(EMPTY_TABLE)

    def check(path) -> dict:
        checker = cfchecks.CFChecker(cfStandardNamesXML=str(tables / "standard-names.xml"),
                                     cfAreaTypesXML=str(tables / "empty.xml"), cfRegionNamesXML=str(tables / "empty.xml"),
                                     silent=True, version=cfchecks.CFVersion((1, 8)))
        result = checker.checker(str(path))
        with netCDF4.Dataset(path) as ds:
            bounds = {v.getncattr("bounds") for v in ds.variables.values() if "bounds" in v.ncattrs()}
        messages = {"FATAL": [], "ERROR": [], "WARN": []}
        for name, scope in [("", result["global"]), *result["variables"].items()]:
            for level in messages:
                # Let pass only: UGRID-1.0's mesh variables (a dummy `mesh` and the integer `face_node`), whose
                # cf_role values are UGRID's, which CF-1.8's checker does not know, and which have no units; and
                # the missing units of a bounds variable, which CF 7.1 says it need not have (xarray drops them)
                messages[level] += [m for m in scope.get(level, [])
                                    if not (name in UGRID_VARIABLES and ("cf_role" in m or "units attribute" in m))
                                    and not (name in bounds and "units attribute" in m)]
        return messages

    return check


def test_products_pass_the_cf_checker(written, cf_checker, cosmo_sample, tmp_path):
    """cfchecker 4.1 (NCAS, with Debian's udunits2) against CF-1.8 and standard name table 93: no error and no
    warning in a 3-D and a 2-D product, an ensemble file, the grid file and a COSMO product on its rotated
    grid (CF grid_mapping rotated_latitude_longitude)."""
    rotated = compute_products(["THETA", "FF_10M"], [cosmo_sample / "000" / "lfff00010000", cosmo_sample / "lfff00000000c"],
                               output_dir=tmp_path / "cosmo")
    with netCDF4.Dataset(rotated["THETA"]) as ds:
        assert ds["rotated_pole"].grid_mapping_name == "rotated_latitude_longitude"
        assert ds["THETA"].grid_mapping == "rotated_pole"
    mesh = write_grid(read_grid([shared(ICON_NETCDF)]), tmp_path / "mesh.nc")
    files = [written["files"][0]["THETA_E"], written["files"][0]["CAPE_ML"], written["ensemble"], written["grid"],
             mesh, rotated["THETA"], rotated["FF_10M"]]
    for path in files:
        found = cf_checker(path)
        assert found == {"FATAL": [], "ERROR": [], "WARN": []}, (path, found)
