"""Render the study's results (``WORK/results/*.json``) as ``docs/study.md`` with PNG figures.

Every table says on which machine and at which load its numbers were measured; every comparison is a ratio
of numbers measured in the same run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.study.common import FINISHED  # noqa: E402

MODEL_NAMES = {"chunked": "(a) xarray + dask, chunked", "delayed": "(b) dask.delayed, whole-domain tasks",
               "numba": "(c) numba data parallelism", "bundle": "(d) nwpflow bundle, (b) + (c)"}
COLOURS = {"chunked": "tab:red", "delayed": "tab:orange", "numba": "tab:blue", "bundle": "tab:green"}


def _workload(name: str) -> str:
    return "the product set" if name == "set" else name


def _load(results: Path) -> dict:
    records = {}
    for p in sorted(results.glob("*.json")):
        records[p.stem] = json.loads(p.read_text())
        # a record written before records named their finish: the file's time
        records[p.stem].setdefault("finished", time.strftime(FINISHED, time.gmtime(p.stat().st_mtime)))
    return records


def _f(x, digits=2) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}" if abs(x) >= 0.01 or x == 0 else f"{x:.2g}"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _rel(a: dict | None) -> str:
    if not a or a.get("median_rel") is None:
        return "–"
    return f"{a['median_rel']:.1e} / {a['p99_rel']:.1e} / {a['max_rel']:.1e}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _where(record: dict, triad: float | None) -> str:
    m = record.get("machine") or {}
    bandwidth = f", STREAM triad {triad / 1e9:.1f} GB/s" if triad else ""
    return (f"*Measured on {m.get('cpu', '?')} ({m.get('simd', '?')}), {m.get('cores', '?')} cores, "
            f"{m.get('memory_GiB', '?')} GiB{bandwidth}; load average {_f(record.get('load_before'))} before, "
            f"{_f(record.get('load_after'))} after this part ({_f(record.get('wall_s', 0) / 60, 1)} min, finished "
            f"{record.get('finished', '?')}).*")


def _parts_of(run: dict, records: dict) -> str:
    """``""`` where the last run made every part of the report, else which parts it made (each section says
    when its part finished)."""
    earlier = sorted(k for k in records if k != "run" and k not in (run.get("parts") or []))
    if not earlier:
        return ""
    return (f" of part {', '.join(run.get('parts') or [])} (parts {', '.join(earlier)} from an earlier run: "
            f"each section names when its part finished)")


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------------- models

def _best(rows: list[dict], domain: str, workload: str, model: str, cores: int) -> str | None:
    """The variant of ``model`` fastest on every core."""
    candidates = [r for r in rows if r["domain"] == domain and r["workload"] == workload and r["model"] == model
                  and r["cores"] == cores]
    return min(candidates, key=lambda r: r["s"])["variant"] if candidates else None


def models_section(record: dict, figures: Path, rel: str, triad: float | None) -> list[str]:
    res = record["results"]
    rows, counts = res["rows"], res["cores"]
    top = max(counts)
    out = ["## 1. The parallel models, strong scaling", "",
           "The same products on the same synthetic float32 columns (80 levels), computed four ways "
           "(`benchmarks/study/models.py`): **(a)** array expressions on dask arrays chunked over the cells "
           "(the seed's xarray + dask baseline: xarray on dask arrays builds the same task graph, one "
           "blockwise task per operation and chunk), dask's threaded scheduler and `dask.distributed` (one "
           "single-threaded worker process per core, inputs persisted on the workers); **(b)** one "
           "`dask.delayed` task per product over the whole domain (numpy inside), and \"xN\": N copies of BRN "
           f"in one graph (N = {res['xN']}); **(c)** nwpflow's numba kernels, one product after the other, "
           "numba threads = cores; **(d)** nwpflow's bundle graph: one task per product running the bundle "
           "job's compute step, dask workers x numba threads split as the job splits them. The product set is "
           "THETA, THETA_V, RELHUM, TD, FF and BRN. Times are medians; speed-up is each variant's own 1-core "
           "time over its time on n cores, efficiency = speed-up / n; \"vs (d)\" is the variant's time over "
           "the bundle's on every core.", "", _where(record, triad), ""]
    for domain in dict.fromkeys(r["domain"] for r in rows):
        columns_ = next(r["columns"] for r in rows if r["domain"] == domain)
        for workload in dict.fromkeys(r["workload"] for r in rows if r["domain"] == domain):
            sel = [r for r in rows if r["domain"] == domain and r["workload"] == workload]
            bundle = [r["s"] for r in sel if r["model"] == "bundle" and r["cores"] == top]
            header = ["model", "variant"] + [f"{n} core{'s' * (n > 1)} [s]" for n in counts] + [
                f"speed-up at {top}", "efficiency", f"vs (d) at {top}", "tasks", "load"]
            table = []
            for (model, variant) in dict.fromkeys((r["model"], "plan_threads" if r["model"] == "bundle"
                                                   else r["variant"]) for r in sel):
                times = {r["cores"]: r for r in sel if r["model"] == model and
                         (r["variant"] == variant or (model == "bundle"))}
                if not times:
                    continue
                one, last = times.get(min(counts)), times.get(top)
                speed = one["s"] / last["s"] if one and last else None
                label = "workers x numba threads: " + ", ".join(
                    f"{n}: {times[n]['variant'].replace(' numba', '')}" for n in counts if n in times) \
                    if model == "bundle" else variant
                table.append([MODEL_NAMES[model], label] + [_f(times[n]["s"], 3) if n in times else "–" for n in counts]
                             + [_f(speed), _pct(speed / top if speed else None),
                                _f(last["s"] / bundle[0] if last and bundle else None),
                                last.get("tasks") or "–", _f(last["load"])])
            out += [f"### {domain} ({columns_:,} columns), {_workload(workload)}", ""] + _table(header, table)
            if True:
                name = f"scaling-{domain}-{workload}".replace(" ", "").lower()
                fig, ax = plt.subplots(figsize=(6.4, 4.2))
                ax.plot(counts, counts, "k--", label="ideal (speed-up = cores)")
                for model in MODEL_NAMES:
                    variant = _best(rows, domain, workload, model, top)
                    if variant is None:
                        continue
                    pts = sorted((r["cores"], r["s"]) for r in sel if r["model"] == model
                                 and (r["variant"] == variant or model == "bundle"))
                    base = pts[0][1]
                    ax.plot([p[0] for p in pts], [base / p[1] for p in pts], "o-", color=COLOURS[model],
                            label=f"{MODEL_NAMES[model]}" + (f" ({variant})" if model == "chunked" else ""))
                ax.set_xlabel("cores")
                ax.set_ylabel("speed-up over the same variant on 1 core [x]")
                ax.set_xticks(counts)
                ax.set_title(f"Strong scaling, {_workload(workload)}, {domain} size")
                ax.legend(fontsize=7)
                ax.grid(alpha=0.3)
                _save(fig, figures / f"{name}.png")
                out += [f"![Strong scaling of {_workload(workload)} at {domain} size]({rel}/{name}.png)", ""]
    # absolute comparison on every core
    name = "models-time-all-cores"
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    labels, values, colours = [], [], []
    for domain in dict.fromkeys(r["domain"] for r in rows):
        for model in MODEL_NAMES:
            variant = _best(rows, domain, "set", model, top)
            hit = [r for r in rows if r["domain"] == domain and r["workload"] == "set" and r["model"] == model
                   and r["variant"] == variant and r["cores"] == top]
            if hit:
                labels.append(f"{domain}\n{model}")
                values.append(hit[0]["s"])
                colours.append(COLOURS[model])
    ax.bar(range(len(values)), values, color=colours)
    ax.set_xticks(range(len(values)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel(f"time for the product set on {top} cores [s], log")
    ax.set_title("Product set on every core: each model's best variant")
    _save(fig, figures / f"{name}.png")
    out += [f"![Time of the product set on every core, per model]({rel}/{name}.png)", ""]
    # overhead
    ov = res.get("overheads", [])
    if ov:
        out += ["### Task counts and the scheduler's overhead per task (1 core)", "",
                "Overhead = (wall time - time inside the tasks) / tasks, on one worker; the time inside the "
                "tasks from dask's callbacks (threaded) or the task stream (distributed). The graph's task count "
                "is after dask's optimisation (what the scheduler runs).", ""]
        out += _table(["domain", "model", "variant", "workload", "tasks", "wall [s]", "inside tasks [s]",
                       "overhead per task [µs]", "overhead share"],
                      [[o["domain"], MODEL_NAMES[o["model"]], o["variant"], o["workload"], o["tasks"], _f(o["wall_s"], 3),
                        _f(o["inside_s"], 3), _f(o["per_task_us"], 0), _pct(o["fraction"])] for o in ov])
        name = "scheduler-overhead"
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for kind, colour in (("threads", "tab:red"), ("distributed", "tab:purple"), ("whole domain", "tab:orange")):
            pts = [(o["tasks"], o["per_task_us"]) for o in ov if kind in o["variant"]]
            if pts:
                ax.scatter(*zip(*pts), color=colour, label=kind)
        ax.set_xscale("log")
        ax.set_yscale("symlog")
        ax.set_xlabel("tasks in the graph")
        ax.set_ylabel("scheduler overhead per task [µs]")
        ax.set_title("Scheduler overhead per task, one core")
        ax.legend()
        ax.grid(alpha=0.3)
        _save(fig, figures / f"{name}.png")
        out += [f"![Scheduler overhead per task]({rel}/{name}.png)", ""]
    ag = res.get("agreement", {})
    if ag:
        out += ["The array expressions of (a) and (b) against nwpflow's products (relative difference, median / "
                "99th percentile / maximum): " + "; ".join(f"{k} {_rel(v)}" for k, v in ag.items()) + ".", ""]
    return out


# --------------------------------------------------------------------------------------------- legate

def legate_section(record: dict, figures: Path, rel: str, triad: float | None) -> list[str]:
    status = record.get("status", {})
    out = ["## 2. A Legion-based runtime: NVIDIA Legate", "",
           "Legate (`legate`, `nvidia-cupynumeric` on PyPI; the optional `legate` extra) runs in its own "
           "interpreter (`benchmarks/study/legate_part.py`, prepared by `legate_run.py`): THETA and BRN as "
           "cuPyNumeric array code (the same expressions as numpy's), and (b)-style Legate tasks, one Python task "
           "per BRN copy over the whole domain, against numpy and nwpflow's kernel in the same process.", "",
           "What it takes, found while building this part (Legate 26.6.1, cuPyNumeric 26.6.1, PyPI wheels):", "",
           "- the wheels are CUDA builds (the extra pulls ~3 GB of CUDA libraries); `import legate` fails with "
           "`libcuda.so.1: cannot open shared object file` where no NVIDIA driver is installed. A stub "
           "`libcuda.so.1` whose entry points answer `CUDA_ERROR_NO_DEVICE` (`benchmarks/study/cuda_stub.c`, "
           "compiled by the study with `cc`; it must also hand out `cuGetErrorName`/`cuGetErrorString` through "
           "`cuGetProcAddress`, which Realm asserts on) lets it start on CPUs;",
           "- automatic configuration off and the CPUs given: `LEGATE_AUTO_CONFIG=0`, "
           "`LEGATE_CONFIG=\"--cpus N --gpus 0 --omps 0 --utility 1 --sysmem MB\"`;",
           "- a Python task sees only its partition of each store unless every argument carries a `broadcast` "
           "constraint; the task's annotations must be real types when it is registered (a module with "
           "`from __future__ import annotations` fails with `NameError: name 'InputStore' is not defined`);",
           "- independent tasks submitted without a machine scope may run one after another; placing each on "
           "one CPU (`with Scope(machine=cpus[i])`) runs them side by side (table below);",
           "- cuPyNumeric has no reversed slices (`a[::-1]`: `NotImplementedError: Unsupported slice: slice(None, "
           "None, -1)`), so BRN's layer mean is written as a forward cumulative sum for every backend;",
           "- the mean of a large float32 array is wrong unless accumulated in float64 (last line below).", "",
           "No GPU was lent to this task (the device tool's draw did not give this task a machine), so Legate's "
           "GPU path is not measured here; on a node with a driver and a GPU the same part runs with "
           "`LEGATE_CONFIG=\"--cpus N --gpus 1 ...\"` set in the environment.", ""]
    res = record.get("results")
    if status.get("status") != "ran" or not res:
        out += [f"**Status: {status.get('status', 'not run')}.** " + (status.get("why") or ""), ""]
        if status.get("stderr"):
            out += ["```", status["stderr"][-1500:], "```", ""]
        return out
    out += [_where(record, triad), "",
            f"Legate {res['legate']}, cuPyNumeric {res['cupynumeric']}; {res['cpus']} CPU processors, "
            f"{res['gpus']} GPUs; `LEGATE_CONFIG=\"{status.get('LEGATE_CONFIG')}\"`, `LEGATE_AUTO_CONFIG=0`. "
            + " ".join(n + "." for n in status.get("notes", [])), ""]
    rows = [[p, _f(e["numpy_s"], 3), _f(e["cupynumeric_s"], 3), _f(e["cupynumeric_vs_numpy"]), _rel(e["agreement"]),
             _f(e["load"])] for p, e in res["products"].items()]
    out += [f"Array code on {res['columns']:,} columns x 80 levels (ICON-CH2 size):", ""]
    out += _table(["product", "numpy, 1 thread [s]", f"cuPyNumeric, {res['cpus']} CPUs [s]",
                   "cuPyNumeric / numpy (time)", "agreement with numpy (median / p99 / max rel.)", "load"], rows)
    t = res["tasks"]
    out += [f"BRN x{t['copies']} as Legate tasks (each sees the whole arrays through `broadcast` constraints; numpy "
            "inside):", ""]
    out += _table(["what", "time [s]", "speed-up over numpy one after another"],
                  [["numpy, one copy after another (N x one BRN)", _f(t["numpy_serial_s"], 3), "1.00"],
                   ["Legate tasks, submitted without placement", _f(t["unplaced_s"], 3),
                    _f(t["unplaced_speedup_vs_serial_numpy"])],
                   ["Legate tasks, each placed on one CPU (`Scope(machine=cpus[i])`)", _f(t["placed_s"], 3),
                    _f(t["placed_speedup_vs_serial_numpy"])]])
    if res.get("nwpflow_brn_s"):
        cn_brn = res["products"]["BRN"]["cupynumeric_s"]
        out += [f"nwpflow's BRN kernel in the same process ({res['cpus']} numba threads): "
                f"{_f(res['nwpflow_brn_s'], 3)} s. cuPyNumeric's BRN takes **{_f(cn_brn / res['nwpflow_brn_s'], 1)}x** "
                f"the kernel's time; the placed Legate tasks take {_f(t['placed_s'] / t['copies'] / res['nwpflow_brn_s'], 1)}x "
                "its time per BRN copy.", ""]
    m = res["mean_float32"]
    out += [f"Mean of {m['elements']:,} float32 values of 0.1: cuPyNumeric {m['cupynumeric']:.6f}, with a float64 "
            f"accumulator {m['cupynumeric_float64_accumulator']:.6f}, numpy {m['numpy']:.6f}.", ""]
    name = "legate"
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    labels = ["numpy THETA", "cuPyNumeric THETA", "numpy BRN", "cuPyNumeric BRN"]
    values = [res["products"]["THETA"]["numpy_s"], res["products"]["THETA"]["cupynumeric_s"],
              res["products"]["BRN"]["numpy_s"], res["products"]["BRN"]["cupynumeric_s"]]
    colours = ["tab:gray", "tab:purple", "tab:gray", "tab:purple"]
    if res.get("nwpflow_brn_s"):
        labels.append("nwpflow BRN")
        values.append(res["nwpflow_brn_s"])
        colours.append("tab:green")
    ax.bar(labels, values, color=colours)
    ax.set_ylabel(f"time at ICON-CH2 size [s] ({res['cpus']} CPUs)")
    ax.set_title("Legate on CPUs: cuPyNumeric against numpy and nwpflow")
    ax.tick_params(axis="x", labelsize=7)
    _save(fig, figures / f"{name}.png")
    return out + [f"![Legate against numpy and nwpflow]({rel}/{name}.png)", ""]


# ---------------------------------------------------------------------------------------------- peers

def peers_section(record: dict, figures: Path, rel: str, triad: float | None) -> list[str]:
    res = record["results"]
    out = ["## 3. Peers on the same arrays", "",
           "`benchmarks/study/peers.py`: the same float32 arrays given to each peer (meteodata-lab's DataArrays "
           "carry the metadata of a real GRIB template it decoded itself; U and V C-grid staggered, so BRN "
           "includes destaggering on both sides). Ratio = peer's time / nwpflow's (> 1: nwpflow faster); "
           "agreement = relative difference of nwpflow's product to the peer's (median / 99th percentile / "
           "maximum), which reflects the constants each uses (meteodata-lab: earthkit-meteo's κ and IFS Tetens; "
           "MetPy and metrust: Ambaum saturation — nwpflow is run with `saturation=ambaum` where it has the "
           "option — and their own parcel definitions), not rounding.", "", _where(record, triad), ""]
    rows, bars = [], []
    for domain, products in res["meteodata_lab"].items():
        for p, e in products.items():
            rows.append([f"meteodata-lab `{p}`", domain, _f(e["peer_s"], 3), _f(e["nwpflow_s"], 3),
                         f"**{_f(e['ratio'], 1)}x**", _rel(e["agreement"]), _f(e["load"])])
            bars.append((f"mdl {p} {domain[-3:]}", e["ratio"]))
            if "kernel_s" in e:
                rows.append([f"meteodata-lab `{p}` vs the kernel alone", domain, _f(e["peer_s"], 3),
                             _f(e["kernel_s"], 3), f"**{_f(e['ratio_kernel'], 1)}x**", "", _f(e["load"])])
    for p, e in res["metpy"].items():
        if p == "CAPE_ML":
            rows.append([f"MetPy `mixed_layer_cape_cin` ({e['columns_sampled']} columns)", "ICON-CH2",
                         f"{_f(e['peer_columns_per_s'], 1)} col/s", f"{_f(e['nwpflow_columns_per_s'], 0)} col/s",
                         f"**{_f(e['ratio'], 0)}x**", _rel(e["agreement"]) + " (CAPE, J/kg)", _f(e["load"])])
        else:
            rows.append([f"MetPy `{p}` ({e['points']:,} points)", "ICON-CH2", _f(e["peer_s"], 3), _f(e["nwpflow_s"], 3),
                         f"**{_f(e['ratio'], 1)}x**", _rel(e["agreement"]), _f(e["load"])])
        bars.append((f"MetPy {p}", e["ratio"]))
    mr = res["metrust"]
    for p, e in ((k, v) for k, v in mr.items() if isinstance(v, dict)):
        rows.append([f"metrust {mr['version']} `{'compute_cape_cin' if p == 'CAPE_ML' else 'equivalent_potential_temperature'}`"
                     " (whole domain)", "ICON-CH2", _f(e["peer_s"], 3), _f(e["nwpflow_s"], 3), f"**{_f(e['ratio'], 2)}x**",
                     _rel(e["agreement"]), _f(e["load"])])
        bars.append((f"metrust {p}", e["ratio"]))
    out += _table(["peer, product", "domain", "peer [s]", "nwpflow [s]", "ratio", "agreement (rel.)", "load"], rows)
    brn = res["meteodata_lab"].get("ICON-CH1", {}).get("BRN")
    if brn:
        out += [f"Target BRN >= 15x meteodata-lab's `fbrn` at ICON-CH1 size: the product (with destaggering) "
                f"**{_f(brn['ratio'], 1)}x**, the kernel alone **{_f(brn.get('ratio_kernel'), 1)}x** — "
                f"{'met' if brn['ratio'] >= 15 else 'not met by the product'}"
                f"{'' if brn['ratio'] >= 15 else (', met by the kernel' if brn.get('ratio_kernel', 0) >= 15 else ', nor by the kernel')}.", ""]
    if "CAPE_ML" in mr:
        out += ["metrust's CAPE: `compute_cape_cin(..., parcel_type=\"ml\")` (its mixed layer), heights above "
                "ground from HHL, its T2M/Q2M taken from the lowest model level; the time is against nwpflow's "
                "CAPE_ML + CIN_ML (one ascent, COSMO definition), the agreement against nwpflow's CAPE_ML with "
                "MetPy's definitions (`definition=metpy, saturation=ambaum`), where both are finite and the "
                "peer's CAPE is not ~0. MetPy's CAPE agreement is on its sampled columns, same options.", ""]
    name = "peers"
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    ax.barh([b[0] for b in bars], [b[1] for b in bars], color=["tab:green" if b[1] >= 1 else "tab:red" for b in bars])
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("peer's time / nwpflow's time [x], log (> 1: nwpflow faster)")
    ax.set_title("nwpflow against its peers on the same arrays")
    ax.tick_params(axis="y", labelsize=7)
    _save(fig, figures / f"{name}.png")
    return out + [f"![Speed ratios against the peers]({rel}/{name}.png)", ""]


# ------------------------------------------------------------------------------------------- roofline

def roofline_section(record: dict, figures: Path, rel: str) -> list[str]:
    res = record["results"]
    triad = res["triad_best_Bps"]
    out = ["## 4. The hardware limit: roofline", "",
           f"`benchmarks/study/roofline.py`, ICON-CH1 size ({res['columns']:,} columns x 80 levels), "
           f"{res['threads']} numba threads. STREAM triad (best of 10, in the same process): "
           f"**{triad / 1e9:.1f} GB/s**. Effective bandwidth = bytes of the product's inputs read + its output "
           "written, over its time (through `nwpflow.compute`, the xarray wrapper included); the fraction of the "
           "triad is the median over (triad, product) pairs run back to back. The compute ceiling is the "
           "product's throughput on a cache-resident block of 2048 columns on one thread, times the cores, in the "
           "same bytes per second: where it lies below the triad, the product is compute-bound and that "
           "ceiling is its limit.", "", _where(record, triad), ""]
    rows = []
    for p, e in res["products"].items():
        rows.append([p, _f(e["bytes"] / 1e9, 2), _f(e["s"], 3), _f(e["GBps"], 1), f"**{_pct(e['fraction_of_triad'])}**",
                     _f(e["resident_ceiling_GBps"], 1), "compute" if e["compute_bound"] else "memory",
                     "met" if e["fraction_of_triad"] >= 0.5 else "not met", _f(e["load"])])
    out += _table(["product", "GB moved", "time [s]", "GB/s", "of the triad", "compute ceiling [GB/s]",
                   "bound by", ">= 50 % target", "load"], rows)
    tr = res["transcendentals"]
    out += ["The lead for the θ-type products, one thread, ns per float64 element:", ""]
    out += _table(["function", "numpy (vectorised)", "numba scalar (`x ** y`, `math.exp`, `math.log`)", "numba / numpy"],
                  [[k, _f(v["numpy_ns"]), _f(v["numba_scalar_ns"]), _f(v["numba_scalar_ns"] / v["numpy_ns"], 1) + "x"]
                   for k, v in tr.items()])
    name = "roofline"
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    names = list(res["products"])
    ax.bar(names, [res["products"][p]["GBps"] for p in names], color="tab:blue", label="effective bandwidth")
    ax.scatter(names, [res["products"][p]["resident_ceiling_GBps"] for p in names], marker="_", s=400,
               color="tab:red", label="compute ceiling (cache-resident)", zorder=3)
    ax.axhline(triad / 1e9, color="k", ls="-", label=f"STREAM triad {triad / 1e9:.1f} GB/s")
    ax.axhline(0.5 * triad / 1e9, color="k", ls="--", label="50 % of the triad (target)")
    ax.set_ylabel("GB/s (bytes read + written / time)")
    ax.set_title(f"Memory-bound products against the triad, {res['threads']} threads")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7)
    _save(fig, figures / f"{name}.png")
    return out + [f"![Roofline: effective bandwidth per product]({rel}/{name}.png)", ""]


# ----------------------------------------------------------------------------------------- end to end

def end_to_end_section(record: dict, figures: Path, rel: str, triad: float | None) -> list[str]:
    res = record["results"]
    out = ["## 5. End to end", "",
           f"`benchmarks/study/end_to_end.py`: one lead time of a run of ICON-CH1's size ({res['points']:,} points "
           "x 80 levels, GRIB2 with 16-bit simple packing, on a rotated grid with C-grid winds because "
           "meteodata-lab's `fbrn` needs one) read, computed and written as NetCDF, each way in a fresh process "
           f"with {res['threads']} threads, medians from the parent process.", "", _where(record, triad), ""]
    shared = ", ".join(res["shared_products"])
    out += _table(["way", "products", "time [s]", "load"],
                  [["meteodata-lab: `grib_decoder.load`, its operators, `to_netcdf`", shared,
                    _f(res["meteodata_lab"]["s"]), _f(res["meteodata_lab"]["load"])],
                   ["nwpflow bundle job", shared, _f(res["nwpflow_shared"]["s"]), _f(res["nwpflow_shared"]["load"])],
                   ["nwpflow bundle job, whole catalogue", f"{res['catalogue_products']} products",
                    _f(res["nwpflow_catalogue"]["s"]), _f(res["nwpflow_catalogue"]["load"])]])
    out += [f"**nwpflow is {_f(res['ratio_shared'], 1)}x faster than the meteodata-lab way** on the same products "
            f"(target >= 5x: {'met' if res['ratio_shared'] >= 5 else 'not met'}).", ""]
    p = res["parts"]
    out += ["Against the sum of its parts (measured in one process on the same files):", ""]
    out += _table(["part", "measure", "time [s]"],
                  [["decode", f"ecCodes {p['decode_values_per_s_1thread'] / 1e6:.0f} M values/s on one thread, "
                              f"{p['values_needed'] / 1e6:.0f} M values over {res['threads']} cores", _f(p["decode_s"])],
                   ["kernels", ", ".join(f"{k} {_f(v, 3)}" for k, v in p["kernel_s"].items()), _f(p["kernels_s"])],
                   ["NetCDF writes", f"{_f(p['write_MBps'], 0)} MB/s", _f(p["write_s"])],
                   ["**sum of the parts**", "", _f(p["sum_s"])],
                   ["the bundle job", "", _f(res["nwpflow_shared"]["s"])],
                   ["job - parts (process, imports, header scan, graph, file opening)", "", _f(p["job_minus_parts_s"])]])
    o = res["overhead"]
    out += [f"Per-job overhead (warm numba cache, 64-cell input, fresh process): bare interpreter {_f(o['python_bare_s'], 3)} s, "
            f"a BRN job {_f(o['job_BRN_s'])} s, a bundle job of the whole catalogue {_f(o['job_catalogue_s'])} s "
            f"(load {_f(o['load'])}).", ""]
    b = res.get("bundle_vs_separate")
    if b:
        out += [f"Bundle vs separate jobs ({len(b['products'])} memory-bound products, {b['cells']:,} cells, "
                f"{b['threads']} threads): separate jobs {_f(b['separate_s'])} s, one bundle {_f(b['bundle_s'])} s: "
                f"**{_f(b['speedup'], 1)}x**; files bit-identical: {b['bit_identical']} (load {_f(b['load_before'])} "
                f"-> {_f(b['load_after'])}).", ""]
    d = res["dag"]
    out += [f"`snakemake -n` for an operational day ({d['members']} members x {d['lead_times']} lead times, the "
            f"catalogue, ensemble and time products): bundled {d['bundled']['jobs']:,} jobs in "
            f"**{_f(d['bundled']['wall_s'], 1)} s**; one job per product {d['per_product']['jobs']:,} jobs in "
            f"{_f(d['per_product']['wall_s'], 1)} s (load {_f(d['load_before'])} -> {_f(d['load_after'])}).", ""]
    name = "end-to-end"
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    labels = ["meteodata-lab way", "nwpflow job", "nwpflow parts"]
    ax.bar(labels[:2], [res["meteodata_lab"]["s"], res["nwpflow_shared"]["s"]], color=["tab:red", "tab:green"])
    bottom = 0.0
    for part, colour in (("decode_s", "tab:olive"), ("kernels_s", "tab:blue"), ("write_s", "tab:cyan")):
        ax.bar(labels[2], p[part], bottom=bottom, color=colour, label=part.replace("_s", ""))
        bottom += p[part]
    ax.set_ylabel("time for one lead time, read -> 6 products -> NetCDF [s]")
    ax.set_title("End to end at ICON-CH1 size")
    ax.legend(fontsize=8)
    _save(fig, figures / f"{name}.png")
    return out + [f"![End to end]({rel}/{name}.png)", ""]


# --------------------------------------------------------------------------------------------- render

def render(results: Path, output: Path, figures: Path) -> None:
    records = _load(results)
    figures.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(figures, output.parent)
    run = records.get("run", {})
    triad = (records.get("roofline") or {}).get("results", {}).get("triad_best_Bps") if records.get("roofline") else None
    any_record = next((r for k, r in records.items() if k != "run" and r.get("machine")), {})
    m = any_record.get("machine", {})
    lines = ["# The study behind nwpflow's design", "",
             "Generated by `.venv/bin/python -m benchmarks.study` (issue 12); do not edit by hand. It measures, side by "
             "side in one run, why nwpflow computes each product over the whole domain with numba kernels inside "
             "`dask.delayed` bundles rather than with chunked xarray + dask, and how far that is from the peers and "
             "from the hardware. Absolute times are indicative only; the ratios are what count. "
             "`docs/benchmarks.md` is the development log.", "",
             "| machine | |", "|---|---|",
             f"| CPU | {m.get('cpu', '?')} ({m.get('simd', '?')}) |", f"| cores | {m.get('cores', '?')} |",
             f"| memory | {m.get('memory_GiB', '?')} GiB |",
             f"| memory bandwidth (STREAM triad, numba, every core) | {_f(triad / 1e9, 1) + ' GB/s' if triad else '–'} |",
             f"| software | Python {m.get('python', '?')}, numpy {m.get('numpy', '?')}, numba {m.get('numba', '?')} |",
             f"| last run | {run.get('started', '?')}, {'smoke version (--quick)' if run.get('quick') else 'full study'}"
             f"{_parts_of(run, records)}, {_f((run.get('wall_s') or 0) / 60, 1)} min |",
             f"| load average at its start | {_f(run.get('load_at_start'))}" + (
                 f" (waited {_f(run['quiet_wait']['waited_min'], 0)} min for a quiet machine: "
                 f"{'found' if run['quiet_wait']['quiet'] else 'not found, ran anyway'})" if run.get("quiet_wait") else "")
             + " |", ""]
    if records.get("models"):
        lines += models_section(records["models"], figures, rel, triad)
    if records.get("legate"):
        lines += legate_section(records["legate"], figures, rel, triad)
    if records.get("peers"):
        lines += peers_section(records["peers"], figures, rel, triad)
    if records.get("roofline"):
        lines += roofline_section(records["roofline"], figures, rel)
    if records.get("end_to_end"):
        lines += end_to_end_section(records["end_to_end"], figures, rel, triad)
    lines += ["## 6. Beyond this machine", "",
              "Every strong-scaling curve goes from 1 to every core the process may use (`os.sched_getaffinity`, "
              "so a SLURM allocation's cores), the xN variant scales its copies with the cores, and Legate gets "
              "`--cpus` = those cores: the same command runs unchanged on a bigger node and writes its own report "
              "(`--output`, `--work`). Record such a machine's report beside this one rather than over it. "
              "No bigger machine was at hand for this report: the 16-core GPU node is lent by a draw per task, and "
              "this task was not given one, so every scaling figure above stops at this machine's cores.", ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines), encoding="utf-8")
