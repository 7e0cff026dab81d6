"""The study's one command (``python -m benchmarks.study``), in its seconds-long smoke version (``--quick``:
tiny domains, one repeat): every part runs for real (dask threaded and distributed schedulers, the peers,
the triad, the end-to-end jobs, ``snakemake -n``) and the report and its figures are written. Timings are not
checked (they are the study's business, not a test's); what is checked is that the report holds what the
issue asks of it and that the numbers it is built on are consistent."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    work = tmp_path_factory.mktemp("study")
    output = work / "report" / "study.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.study", "--quick", "--work", str(work),
                           "--output", str(output)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    records = {p.stem: json.loads(p.read_text()) for p in (work / "results").glob("*.json")}
    return output, records


def test_report_has_every_part_and_its_figures(study):
    output, _ = study
    text = output.read_text()
    for heading in ("## 1. The parallel models", "## 2. A Legion-based runtime", "## 3. Peers",
                    "## 4. The hardware limit", "## 5. End to end", "## 6. Beyond this machine"):
        assert heading in text
    figures = output.parent / "study"
    links = [line.split("(", 1)[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) >= 8
    for link in links:
        assert (output.parent / link).read_bytes()[:8] == PNG, link
    assert {p.name for p in figures.glob("*.png")} >= {"roofline.png", "peers.png", "end-to-end.png",
                                                       "scheduler-overhead.png"}
    assert "STREAM triad" in text and "load average" in text


def test_every_model_is_measured_on_every_core_count(study):
    _, records = study
    models = records["models"]["results"]
    measured = {(r["domain"], r["model"], r["workload"], r["cores"]) for r in models["rows"]}
    for domain in ("ICON-CH2", "ICON-CH1"):
        for model in ("chunked", "delayed", "numba", "bundle"):
            for cores in models["cores"]:
                assert (domain, model, "set", cores) in measured
    variants = {r["variant"].split(",")[0] for r in models["rows"] if r["model"] == "chunked"}
    assert variants == {"threads", "distributed"}
    assert all(r["s"] > 0 and r["load"] >= 0 for r in models["rows"])
    # the scheduler's overhead: every task accounted for, the time inside tasks no more than the wall time
    # (plus the callbacks' own clock reads)
    for o in models["overheads"]:
        assert o["tasks"] >= 1 and 0 <= o["inside_s"] <= 1.05 * o["wall_s"] + 1e-3


def test_the_array_formulas_agree_with_nwpflow(study):
    """Models (a) and (b) compute the same products as nwpflow's kernels (same constants, float64
    arithmetic, float32 out): at most a few float32 ulps apart, never NaN where the other is finite."""
    _, records = study
    for name, a in records["models"]["results"]["agreement"].items():
        assert a["finite_mismatch"] == 0.0, name
        assert a["max_rel"] <= 4 * 2.0**-23, (name, a)


def test_peers_and_roofline_and_end_to_end_are_recorded(study):
    _, records = study
    peers = records["peers"]["results"]
    assert set(peers["meteodata_lab"]["ICON-CH2"]) == {"BRN", "THETA", "THETA_V", "RELHUM", "HZEROCL", "T_PL"}
    # meteodata-lab's T on pressure levels is the same interpolation: float32 rounding apart
    assert peers["meteodata_lab"]["ICON-CH2"]["T_PL"]["agreement"]["max_rel"] < 1e-6
    assert {"THETA", "TD", "THETA_E", "CAPE_ML"} <= set(peers["metpy"])
    assert {"CAPE_ML", "THETA_E"} <= set(peers["metrust"])
    roofline = records["roofline"]["results"]
    assert roofline["triad_best_Bps"] > 0
    for entry in roofline["products"].values():
        assert 0 < entry["fraction_of_triad"] and entry["resident_ceiling_GBps"] > 0
    e2e = records["end_to_end"]["results"]
    assert e2e["nwpflow_shared"]["s"] > 0 and e2e["meteodata_lab"]["s"] > 0
    assert e2e["dag"]["bundled"]["jobs"] < e2e["dag"]["per_product"]["jobs"]
    legate = records["legate"]
    assert legate["status"]["status"] in ("ran", "not installed")
    for record in records.values():
        if record.get("part"):
            assert "load_before" in record and "load_after" in record
