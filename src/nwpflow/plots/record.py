"""The run's record for the Snakemake report: its config, the provenance of its products and the runtime
of every job, as small HTML pages (the report shows HTML results inline).

* :func:`provenance_page` — the global attributes of every product file, generically: whatever a file
  records about how it was made (``history``, ``Conventions``, and any attribute a later version adds) is
  shown, those shared by every file once, the others per file.
* :func:`runtimes_page` — Snakemake's benchmark tables (``logs/benchmarks/...tsv``: wall time ``s``,
  ``max_rss``, ``cpu_time``, ...) per rule (jobs, total, median and longest wall time, largest memory) and
  per job.
"""

from __future__ import annotations

import csv
import glob
import html
import os
import re
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence

STYLE = """<style>
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { white-space: pre-wrap; margin: 0; font-size: 12px; } details { margin: 0.3em 0; }
</style>"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>{STYLE}</head>"
            f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")


def _cell(value) -> str:
    text = str(value)
    return f"<td><pre>{html.escape(text)}</pre></td>" if "\n" in text else f"<td>{html.escape(text)}</td>"


def file_attributes(path: str | os.PathLike) -> dict[str, str]:
    """Return the global attributes of a NetCDF file as text (values of other types formatted by str)."""
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4", decode_cf=False) as dataset:
        return {str(k): str(v) for k, v in dataset.attrs.items()}


def provenance_page(files: Sequence[str | os.PathLike], *, root: str | os.PathLike = ".") -> str:
    """Return the HTML page of the global attributes of ``files`` (paths shown relative to ``root``)."""
    records = {os.path.relpath(os.fspath(f), root): file_attributes(f) for f in files}
    names = sorted({name for attrs in records.values() for name in attrs})
    common = {n: next(iter(records.values()))[n] for n in names
              if all(attrs.get(n) == next(iter(records.values())).get(n) for attrs in records.values())}
    varying = [n for n in names if n not in common]
    parts = [f"<p>{len(records)} product files; every global attribute each of them holds.</p>",
             "<h2>The same in every file</h2>"]
    if common:
        parts.append("<table><tr><th>attribute</th><th>value</th></tr>" +
                     "".join(f"<tr><td>{html.escape(n)}</td>{_cell(v)}</tr>" for n, v in common.items()) + "</table>")
    else:
        parts.append("<p>(none)</p>")
    parts.append("<h2>Per file</h2>")
    by_folder = defaultdict(list)
    for path in records:
        by_folder[os.path.dirname(path)].append(path)
    for folder, paths in sorted(by_folder.items()):
        rows = "".join("<tr><td>" + html.escape(os.path.basename(p)) + "</td>" +
                       "".join(_cell(records[p].get(n, "")) for n in varying) + "</tr>" for p in sorted(paths))
        header = "<tr><th>file</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in varying) + "</tr>"
        parts.append(f"<details><summary>{html.escape(folder)} ({len(paths)} files)</summary>"
                     f"<table>{header}{rows}</table></details>")
    return _page("Provenance of the products", "\n".join(parts))


def benchmark_files(templates: Mapping[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """Return ``(rule, path, wildcards)`` of every benchmark table on disk that matches a rule's benchmark
    template (``{rule: "logs/benchmarks/{run}/{member}/{lead}h/BRN.tsv"}``). A table that several templates
    match (``{member}/time/{name}.tsv`` and ``ensemble/time/{name}.tsv``) belongs to the most specific one:
    the template with the most characters outside its wildcards."""
    found: dict[str, tuple[int, str, dict]] = {}
    for rule, template in sorted(templates.items()):
        literal = len(re.sub(r"{[^}]*}", "", template))
        pattern, seen = "", set()
        for text, name in re.findall(r"([^{]*)(?:{(\w+)(?:,[^}]*)?})?", template):  # "{run,sample}" too
            pattern += re.escape(text)
            if name:
                pattern += f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+)"
                seen.add(name)
        regex = re.compile(pattern + "$")
        for path in sorted(glob.glob(re.sub(r"{[^}]*}", "*", template))):
            match = regex.match(path)
            if match and literal > found.get(path, (-1,))[0]:
                found[path] = (literal, rule, match.groupdict())
    ordered = sorted(found.items(), key=lambda item: (item[1][1], item[0]))  # by rule, then path
    return [(rule, path, wildcards) for path, (_, rule, wildcards) in ordered]


def read_benchmark(path: str | os.PathLike) -> dict[str, str]:
    """Return the last row of a Snakemake benchmark table (one row per repeat; the last is the latest)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows[-1] if rows else {}


def runtimes_page(templates: Mapping[str, str]) -> str:
    """Return the HTML page of the runtimes in the benchmark tables of every rule's jobs (:func:`benchmark_files`)."""
    jobs = [(rule, path, wildcards, read_benchmark(path)) for rule, path, wildcards in benchmark_files(templates)]
    by_rule = defaultdict(list)
    for rule, _, _, row in jobs:
        if row.get("s") not in (None, "", "NA"):
            by_rule[rule].append(row)

    def number(row, key):
        try:
            return float(row.get(key, "nan"))
        except ValueError:
            return float("nan")

    summary = []
    for rule, rows in sorted(by_rule.items(), key=lambda item: -sum(number(r, "s") for r in item[1])):
        seconds = [number(r, "s") for r in rows]
        rss = [number(r, "max_rss") for r in rows]
        cpu = [number(r, "cpu_time") for r in rows]
        summary.append(f"<tr><td>{html.escape(rule)}</td><td class=num>{len(rows)}</td>"
                       f"<td class=num>{sum(seconds):.1f}</td><td class=num>{statistics.median(seconds):.2f}</td>"
                       f"<td class=num>{max(seconds):.2f}</td><td class=num>{sum(cpu):.1f}</td>"
                       f"<td class=num>{max(rss):.0f}</td></tr>")
    total = sum(number(r, "s") for rows in by_rule.values() for r in rows)
    parts = [f"<p>{len(jobs)} benchmark tables (Snakemake's <code>benchmark:</code> files), {total:.1f} s of job "
             "wall time in all. Wall time <code>s</code>, CPU time and peak resident memory <code>max_rss</code> "
             "[MB] as Snakemake measured them for each job.</p>",
             "<h2>Per rule</h2><table><tr><th>rule</th><th>jobs</th><th>total s</th><th>median s</th><th>max s</th>"
             "<th>CPU s</th><th>max RSS MB</th></tr>" + "".join(summary) + "</table>",
             "<h2>Per job</h2><table><tr><th>rule</th><th>job</th><th>s</th><th>CPU s</th><th>max RSS MB</th>"
             "<th>table</th></tr>"]
    for rule, path, wildcards, row in jobs:
        label = ", ".join(f"{k}={v}" for k, v in wildcards.items())
        parts.append(f"<tr><td>{html.escape(rule)}</td><td>{html.escape(label)}</td>"
                     f"<td class=num>{html.escape(row.get('s', ''))}</td>"
                     f"<td class=num>{html.escape(row.get('cpu_time', ''))}</td>"
                     f"<td class=num>{html.escape(row.get('max_rss', ''))}</td><td>{html.escape(path)}</td></tr>")
    parts.append("</table>")
    return _page("Runtimes of the jobs", "\n".join(parts))


def config_page(config: Mapping) -> str:
    """Return the HTML page of the run's effective config (after the schema's defaults), as YAML."""
    import yaml

    text = yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True)
    return _page("Configuration of the run", "<p>The configuration the workflow ran with: config/config.yaml, "
                 "<code>--config</code> overrides and the schema's defaults.</p>"
                 f"<pre>{html.escape(text)}</pre>")


def _plain(value):
    """``value`` with Snakemake's config containers turned into plain dicts and lists (for YAML)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


__all__ = ["benchmark_files", "config_page", "file_attributes", "provenance_page", "read_benchmark", "runtimes_page"]
