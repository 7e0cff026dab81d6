"""Incremental runs as the model writes (config `incremental`): a real Snakemake run on a run whose
files are partly missing or being written, then again once they are complete."""

from __future__ import annotations

import pytest

from test_workflow import output_of, snakemake  # the same helpers as the other workflow tests


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("numba_cache"))


@pytest.mark.slow
def test_incremental_run_as_the_model_writes(tmp_path, numba_cache):
    """incremental=true targets only the lead times whose files are complete; called again once the
    model has written the rest, it computes only what is new. The ensemble product of a lead time waits
    for every member, a time product for every lead time of its member."""
    from nwpflow.io.sample import write_sample

    model = tmp_path / "model"
    write_sample(model, "small", members=[0, 1], lead_times=[0, 1, 2])
    full = {p: p.read_bytes() for p in model.rglob("lfff*")}
    (model / "001" / "lfff00020000").unlink()  # member 1 has not reached +2 h yet
    writing = model / "000" / "lfff00010000"  # member 0 is writing +1 h
    writing.write_bytes(full[writing][: len(full[writing]) // 3])
    args = ("--cores", "2", "--config", "sample={activate: false}", f"run={{name: live, input_dir: {model}}}",
            "members=[0,1]", "lead_times=[0,1,2]", "products=[BRN]", "bundles={catalogue: none}", "incremental=true",
            "ensemble={products: [BRN, TOT_PREC_sum_1h], statistics: [mean], quantiles: []}",
            "time_statistics={fields: [{field: TOT_PREC, kind: accumulation, windows: [1]}]}",
            "quicklooks={activate: false}", "meteograms={activate: false}", "run_record={activate: false}",
            f"numba_cache_dir={numba_cache}")
    out = tmp_path / "results" / "live"

    def made():
        """The product files written so far (not the run's grid file, results/live/grid.nc)."""
        return sorted(str(p.relative_to(out)) for p in out.rglob("*.nc") if p.parent != out) if out.exists() else []

    first = snakemake(tmp_path, *args, timeout=600)
    assert first.returncode == 0, output_of(first)
    assert made() == ["000/000h/BRN.nc", "000/002h/BRN.nc", "001/000h/BRN.nc", "001/001h/BRN.nc",
                      "ensemble/000h/BRN.nc"]
    before = {p: (out / p).stat().st_mtime_ns for p in made()}

    # the model finishes
    writing.write_bytes(full[writing])
    (model / "001" / "lfff00020000").write_bytes(full[model / "001" / "lfff00020000"])
    second = snakemake(tmp_path, *args, timeout=600)
    assert second.returncode == 0, output_of(second)
    assert made() == ["000/000h/BRN.nc", "000/001h/BRN.nc", "000/002h/BRN.nc", "000/time/TOT_PREC_sum_1h.nc",
                      "001/000h/BRN.nc", "001/001h/BRN.nc", "001/002h/BRN.nc", "001/time/TOT_PREC_sum_1h.nc",
                      "ensemble/000h/BRN.nc", "ensemble/001h/BRN.nc", "ensemble/002h/BRN.nc",
                      "ensemble/time/TOT_PREC_sum_1h.nc"]
    assert {p: (out / p).stat().st_mtime_ns for p in before} == before, "a finished product was computed again"

    third = snakemake(tmp_path, *args)
    assert third.returncode == 0, output_of(third)
    assert "Nothing to be done" in output_of(third), output_of(third)
