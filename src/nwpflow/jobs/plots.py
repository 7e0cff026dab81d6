"""The plotting jobs (rules/report.smk): the map geometry of the run's grid, the quicklooks of one lead time
(its members and the ensemble) or of the time products, the meteograms, and the run's record for the report.

Each runs in the frame of every job (:func:`nwpflow.jobs.frame.job`: log, logging) and writes its outputs
atomically: files through a temporary name, a folder of quicklooks as a temporary folder renamed when
every frame is in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from nwpflow.io.writer import _umask
from nwpflow.jobs.frame import job

log = logging.getLogger("nwpflow")

FRAMES_INDEX = "frames.json"
"""The file in each quicklook folder that lists its frames (what the report's labels show)."""


def run_grid_job(constants: str | os.PathLike, output: str | os.PathLike, *, width: int,
                 grid_file: str | os.PathLike | None = None) -> Path:
    """Compute the map geometry of the run's grid from its constants file and save it (rule ``quicklook_grid``)."""
    from nwpflow.plots.grid import geometry_of_run

    with job():
        start = time.perf_counter()
        geometry = geometry_of_run(constants, width=width, grid_file=grid_file or None)
        path = geometry.save(output)
        log.info("map geometry of %s: %s, %d x %d pixels, outlines: %s; %.2f s", constants, geometry.drawing,
                 geometry.width, geometry.height, geometry.outline_source, time.perf_counter() - start)
    return path


@contextlib.contextmanager
def _atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; rename it to ``path`` when the block ends without an error,
    else delete it (an existing ``path`` is replaced only then)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def draw_quicklooks(files: Mapping[str, Mapping[str, str | os.PathLike]], geometry: str | os.PathLike,
                    output: str | os.PathLike, *, statistics: Sequence[str] | None = None,
                    levels: Mapping[str, Sequence] | None = None, styles: Mapping | None = None) -> list[dict]:
    """Draw every frame of ``files`` (``{group: {product: file}}``) into the folder ``output``
    (``GROUP/PRODUCT/VARIANT.png``) and return the frames' records (also written to ``output/frames.json``).

    A group is a member's label (``000``), or ``ensemble``: then each product's ``statistics`` (``mean``,
    ...) are drawn from its ensemble file.
    """
    from nwpflow.plots.frames import describe, field_frames
    from nwpflow.plots.grid import MapGeometry
    from nwpflow.plots.quicklook import QuicklookCanvas

    geometry = MapGeometry.load(geometry)
    canvas = QuicklookCanvas(geometry)
    records = []
    with _atomic_folder(Path(output)) as folder:
        for group, products in files.items():
            variants = ([(f"ensemble {s}", s) for s in statistics or ()] if group == "ensemble"
                        else [(f"member {group}", None)])
            for product, path in products.items():
                start = time.perf_counter()
                drawn = 0
                for title, statistic in variants:
                    variable = f"{product}_{statistic}" if statistic else product
                    for name, frame in field_frames(path, variable, product=product, geometry=geometry,
                                                    member=title, description=describe(product),
                                                    statistic=statistic, levels=levels, styles=styles):
                        target = folder / group / name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        frame.record["file"] = f"{group}/{name}"
                        records.append(canvas.draw(frame, target))
                        drawn += 1
                log.info("%s %s: %d frames from %s in %.2f s", group, product, drawn, path,
                         time.perf_counter() - start)
        (folder / FRAMES_INDEX).write_text(json.dumps(records, indent=1), encoding="utf-8")
    return records


def run_quicklook_job(files: Mapping[str, Mapping[str, str]], geometry: str, output: str, *,
                      statistics: Sequence[str] | None = None, levels: Mapping | None = None,
                      styles: Mapping | None = None) -> list[dict]:
    """The job of rules ``quicklooks`` and ``quicklooks_time``: :func:`draw_quicklooks` in a job's frame."""
    with job():
        start = time.perf_counter()
        records = draw_quicklooks(files, geometry, output, statistics=statistics, levels=levels, styles=styles)
        log.info("%d quicklooks in %s in %.1f s (%.3f s each)", len(records), output, time.perf_counter() - start,
                 (time.perf_counter() - start) / max(len(records), 1))
    return records


def run_meteogram_job(points: Sequence[Mapping], model_files: Mapping, product_files: Mapping, constants: str,
                      outputs: Mapping[str, str], table: str, *, cape: str) -> list[dict]:
    """Collect every member's series at the configured points, write their tidy table (CSV) and draw one
    EPSgram per point (rule ``meteograms``). ``outputs``: ``{point name: PNG}``."""
    import pandas as pd

    from nwpflow.io.writer import atomic_output
    from nwpflow.plots.meteogram import Point, collect_series, draw_meteogram

    with job():
        start = time.perf_counter()
        chosen = [Point(p["name"], float(p["lat"]), float(p["lon"]), p.get("height")) for p in points]
        rows = collect_series(chosen, _int_keys(model_files), {k: _int_keys(v) for k, v in product_files.items()},
                              constants)
        with atomic_output(Path(table)) as temporary:
            pd.DataFrame(rows).to_csv(temporary, index=False)
        log.info("%d rows of point series written to %s in %.1f s", len(rows), table, time.perf_counter() - start)
        run = _run_time(rows) if all(r.get("valid_time") for r in rows) else ""
        for point in chosen:
            draw_meteogram(rows, point, outputs[point.name], cape=cape, run=run)
            log.info("meteogram of %s written to %s", point.name, outputs[point.name])
    return rows


def _run_time(rows: Sequence[dict]) -> str:
    """The run's reference time: the valid time of lead time 0, or the first valid time minus its lead."""
    import numpy as np

    from nwpflow.plots.frames import time_text

    first = min(rows, key=lambda r: r["lead_h"])
    valid = np.datetime64(first["valid_time"].replace(" UTC", ""))
    return time_text(valid - np.timedelta64(int(round(first["lead_h"] * 60)), "m"))


def _int_keys(mapping: Mapping) -> dict:
    """``{member: {lead: file}}`` with whole-number keys (Snakemake params may carry them as strings)."""
    return {int(k): (_int_keys(v) if isinstance(v, Mapping) else v) for k, v in mapping.items()}


def run_record_job(config: Mapping, products: Sequence[str], benchmarks: Mapping[str, str],
                   outputs: Mapping[str, str]) -> None:
    """Write the run's record for the report (rule ``run_record``): ``outputs["config"]``,
    ``outputs["provenance"]`` (the global attributes of every product file in ``products``) and
    ``outputs["runtimes"]`` (every benchmark table of the rules' ``benchmarks`` templates)."""
    from nwpflow.io.writer import atomic_output
    from nwpflow.plots.record import config_page, provenance_page, runtimes_page

    with job():
        pages = {"config": lambda: config_page(config),
                 "provenance": lambda: provenance_page([p for p in products if str(p).endswith(".nc")]),
                 "runtimes": lambda: runtimes_page(benchmarks)}
        for key, page in pages.items():
            start = time.perf_counter()
            with atomic_output(Path(outputs[key])) as temporary:
                Path(temporary).write_text(page(), encoding="utf-8")
            log.info("%s written to %s in %.2f s", key, outputs[key], time.perf_counter() - start)


__all__ = ["FRAMES_INDEX", "draw_quicklooks", "run_grid_job", "run_meteogram_job", "run_quicklook_job",
           "run_record_job"]
