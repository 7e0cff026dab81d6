# Looking at the products (nwpflow.plots; README "Looking at the products"): quicklook maps of the
# products, ensemble meteograms at points, and the run's record, all shown by `snakemake --report`.
# No product rule waits for these rules. Paths and inputs: nwpflow.workflow.quicklooks.
#   rule quicklook_grid    once per run: where each value of the grid goes on the map (grid.npz)
#   rule quicklooks        one folder per lead time: <member or ensemble>/PRODUCT/<level>.png
#   rule quicklooks_time   one folder: the time products at each window end
#   rule meteograms        one PNG per point and points.csv (every member's series)
#   rule run_record        config, provenance (global attributes of every product file), runtimes

report: "../report/workflow.rst"


QUICKLOOK_PARAMS = dict(
    statistics=config["quicklooks"]["ensemble"],
    levels=config["quicklooks"]["levels"],
    styles=config["quicklooks"]["styles"],
)


rule quicklook_grid:
    input:
        nwq.grid_inputs(config),
    output:
        nwq.grid_file(config),
    log:
        "logs/{run}/quicklooks/grid.log",
    benchmark:
        "logs/benchmarks/{run}/quicklooks/grid.tsv"
    params:
        width=config["quicklooks"]["width"],
        grid_file=config["quicklooks"]["grid_file"],
    resources:
        mem_mb=nwq.plot_mem_mb(config, "grid"),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/quicklook_grid.py"


rule quicklooks:
    input:
        unpack(get_quicklook_input),
    output:
        report(directory(nwq.quicklook_folder(config)), patterns=["{group}/{product}/{variant}.png"],
               caption="../report/quicklook.rst", category="{product}", subcategory=get_quicklook_subcategory,
               labels=get_quicklook_labels),
    log:
        "logs/{run}/quicklooks/{lead}h.log",
    benchmark:
        "logs/benchmarks/{run}/quicklooks/{lead}h.tsv"
    params:
        files=get_quicklook_files,
        **QUICKLOOK_PARAMS,
    resources:
        mem_mb=nwq.plot_mem_mb(config, "quicklooks"),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/quicklooks.py"


rule quicklooks_time:
    input:
        unpack(get_quicklook_time_input),
    output:
        report(directory(nwq.quicklook_time_folder(config)), patterns=["{group}/{product}/{variant}.png"],
               caption="../report/quicklook.rst", category="{product}", subcategory=get_quicklook_subcategory,
               labels=get_quicklook_labels),
    log:
        "logs/{run}/quicklooks/time.log",
    benchmark:
        "logs/benchmarks/{run}/quicklooks/time.tsv"
    params:
        files=get_quicklook_time_files,
        **QUICKLOOK_PARAMS,
    resources:
        mem_mb=nwq.plot_mem_mb(config, "quicklooks"),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/quicklooks.py"


METEOGRAM_OUTPUTS = nwq.meteogram_outputs(config)


rule meteograms:
    input:
        lambda wildcards: nwq.flat_files(nwq.meteogram_inputs(config, wildcards.run)),
    output:
        *[report(path, caption="../report/meteogram.rst", category="Meteograms", subcategory="EPSgrams",
                 labels={"point": name, "file": "EPSgram"})
          for name, path in METEOGRAM_OUTPUTS.items() if name != "__table__"],
        report(METEOGRAM_OUTPUTS["__table__"], caption="../report/meteogram.rst", category="Meteograms",
               subcategory="Point series", labels={"point": "all points", "file": "tidy table (CSV)"}),
    log:
        "logs/{run}/meteograms/meteograms.log",
    benchmark:
        "logs/benchmarks/{run}/meteograms/meteograms.tsv"
    params:
        points=config["meteograms"]["points"],
        cape=config["meteograms"]["cape"],
        files=lambda wildcards: nwq.meteogram_inputs(config, wildcards.run),
    resources:
        mem_mb=nwq.plot_mem_mb(config, "meteograms"),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/meteograms.py"


rule run_record:
    input:
        products=[path for path in nwf.final_outputs(config) if path.endswith(".nc")],
        # the record comes last, so that the benchmark table of every other job is there
        plots=[path for path in get_report_output() if "/report/" not in path],
    output:
        **{page: report(path, caption="../report/record.rst", category="Run", subcategory="Record",
                        labels={"page": page})
           for page, path in nwq.record_outputs(config).items()},
    log:
        "logs/{run}/report/run_record.log",
    benchmark:
        "logs/benchmarks/{run}/report/run_record.tsv"
    params:
        config=config,
        benchmarks=lambda wildcards: {rule.name: str(rule.benchmark) for rule in workflow.rules if rule.benchmark},
    resources:
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/run_record.py"
