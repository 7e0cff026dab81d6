"""The Snakemake report of a real run, opened in a real browser: quicklooks grouped by product, member and
lead time, meteograms, the run's record; `--report` in both forms; every image of the report decodes in
headless Chromium (tests/browser.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser import Browser, chromium_path
from conftest import ROOT

RUN = ("members=[0,1]", "lead_times=[0,1]", "products=[FF_10M,CAPE_ML,T_PL]",
       "time_statistics={fields: [{field: TOT_PREC, kind: accumulation, windows: [1]}]}")
"""A small real run: two members, two lead times, a 2-D product, CAPE and a product on pressure levels."""


def snakemake(workdir: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(ROOT / "config" / "config.yaml"), *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """The workflow run once, with its HTML report made after it (`--report-after-run`)."""
    work = tmp_path_factory.mktemp("report_run")
    proc = snakemake(work, "--cores", "2", "--report-after-run", "--report", "report.html", "--config", *RUN)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work


@pytest.mark.slow
def test_the_run_draws_quicklooks_meteograms_and_its_record(finished_run):
    """Quicklooks of member 000 and of the ensemble mean at each lead time, the time product's at each window
    end, one fixed range per product and level across lead times and members; meteograms and their table;
    the record."""
    root = finished_run / "results" / "sample"
    records = []
    for folder in ("000h", "001h", "time"):
        listed = json.loads((root / "quicklooks" / folder / "frames.json").read_text())
        for record in listed:
            assert (root / "quicklooks" / folder / record["file"]).is_file()
        records += [(folder, r["file"]) for r in listed]
        assert {r["file"].split("/")[0] for r in listed} == {"000", "ensemble"}, folder
    assert ("001h", "000/T_PL/850hPa.png") in records and ("001h", "ensemble/T_PL/mean-500hPa.png") in records
    assert ("time", "000/TOT_PREC_sum_1h/001h.png") in records
    records = [r for folder in ("000h", "001h", "time")
               for r in json.loads((root / "quicklooks" / folder / "frames.json").read_text())]
    ranges = {}
    for r in records:
        ranges.setdefault((r["product"], r["level"]), set()).add(tuple(r["range"]))
    assert all(len(found) == 1 for found in ranges.values()), ranges
    assert ranges[("T_PL", "850 hPa")] != ranges[("T_PL", "500 hPa")]
    assert not list(root.rglob("*.tmp")), "temporary outputs left behind"
    table = (root / "meteograms" / "points.csv").read_text().splitlines()
    assert table[0].startswith("point,latitude,longitude,method")
    assert len(table) - 1 == 4 * 2 * 2 * 6  # points x members x lead times x variables
    for name in ("Zurich-Fluntern", "Geneve-Cointrin", "Lugano", "Santis"):
        assert Image.open(root / "meteograms" / f"{name}.png").size[0] >= 600
    runtimes = (root / "report" / "runtimes.html").read_text()
    for rule in ("bundle_catalogue", "quicklooks", "meteograms", "warm_cache"):
        assert f"<td>{rule}</td>" in runtimes, rule
    provenance = (root / "report" / "provenance.html").read_text()
    assert "history" in provenance and "Conventions" in provenance
    assert "lead_times:" in (root / "report" / "config.html").read_text()


@pytest.mark.slow
def test_the_report_in_both_forms(finished_run):
    """`--report report.html` (made after the run) and `--report report.zip` hold every quicklook, grouped by
    product (category), member (subcategory) and labelled with lead time, valid time and level."""
    html = (finished_run / "report.html").read_text()
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html, re.S).group(1))
    assert {"T_PL", "CAPE_ML", "FF_10M", "TOT_PREC_sum_1h", "Meteograms", "Run"} <= set(categories)
    assert {"member 000", "ensemble mean"} <= set(categories["T_PL"])
    results = json.loads(re.search(r"var results = (\{.*?\});\n", html, re.S).group(1))
    pngs = sorted(str(p.relative_to(finished_run)) for p in (finished_run / "results").rglob("*.png"))
    assert sorted(p for p in results if p.endswith(".png")) == pngs
    t_pl = results["results/sample/quicklooks/001h/000/T_PL/850hPa.png"]
    assert t_pl["labels"]["lead time"] == "+001 h" and t_pl["labels"]["level"] == "850 hPa"
    assert t_pl["labels"]["valid time"] == "2026-07-15 01:00 UTC" and t_pl["labels"]["member"] == "member 000"
    proc = snakemake(finished_run, "--report", "report.zip", "--config", *RUN, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with zipfile.ZipFile(finished_run / "report.zip") as archive:
        members = archive.namelist()
    assert any(m.endswith("report.html") for m in members)
    assert sum(m.endswith(".png") for m in members) >= len(pngs)


@pytest.mark.slow
def test_the_report_in_a_real_browser(finished_run, tmp_path):
    """Headless Chromium loads the report, shows a quicklook (screenshot), and decodes every image the
    report holds (``HTMLImageElement.decode()``: a broken PNG would reject)."""
    if chromium_path() is None:
        if os.environ.get("NWPFLOW_REQUIRE_BROWSER"):
            pytest.fail("NWPFLOW_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium (apt-get install -y chromium): the report is not opened in a browser")
    with Browser() as browser:
        browser.open((finished_run / "report.html").as_uri())
        assert browser.evaluate("document.title") == "Snakemake Report"
        assert browser.evaluate("typeof app") == "object", "the report's application did not start"
        checked = browser.evaluate("""(async () => {
            const images = Object.entries(results).filter(([path, r]) => r.mime_type.startsWith("image/"));
            const broken = [];
            let pixels = 0;
            for (const [path, r] of images) {
                const image = new Image();
                image.src = r.data_uri;
                try { await image.decode(); pixels += image.naturalWidth * image.naturalHeight;
                      if (!image.naturalWidth) broken.push(path); }
                catch (error) { broken.push(path); }
            }
            return {images: images.length, broken: broken, pixels: pixels};
        })()""")
        pngs = list((finished_run / "results").rglob("*.png"))
        assert checked["broken"] == [] and checked["images"] == len(pngs) and checked["pixels"] > 0, checked
        shown = browser.evaluate("""(() => {
            app.showCategory("T_PL");
            const path = "results/sample/quicklooks/001h/ensemble/T_PL/mean-850hPa.png";
            app.setView({content: "img", contentPath: results[path].data_uri, resultPath: path});
            return path; })()""")
        browser.evaluate("new Promise(done => setTimeout(done, 1000))")
        on_page = browser.evaluate("""Array.from(document.images).map(i => [i.src.slice(0, 14), i.complete,
                                                                            i.naturalWidth])""")
        assert ["data:image/png", True, Image.open(finished_run / shown).size[0]] in on_page, on_page
        browser.screenshot(tmp_path / "report.png")
    screenshot = np.asarray(Image.open(tmp_path / "report.png").convert("RGB"))
    assert screenshot.shape[:2] == (1000, 1400)
    assert len(np.unique(screenshot.reshape(-1, 3), axis=0)) > 100, "the screenshot is blank"
