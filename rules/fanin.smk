# Fan-in products (nwpflow.products.fanin): over members (ensemble statistics of every product at one
# lead time, in one job per lead time; of a time product, one job each) and over lead times (accumulation deltas and window max/min/mean of one
# member). Config: `ensemble`, `time_statistics`. Paths:
#   results/{run}/ensemble/{lead}h/{PRODUCT}.nc   ensemble statistics of a product
#   results/{run}/{member}/time/{NAME}.nc         a time product, e.g. TOT_PREC_sum_3h, T_2M_max_24h
#   results/{run}/ensemble/time/{NAME}.nc         ensemble statistics of a time product
# Config `formats` holding grib2: each job also writes the same path with .grib2 (WMO templates of
# statistics, nwpflow.io.grib_writer), its grid from the run's GRIB files given as input `template`
# (nwf.grib_template_inputs: the constants file; for a time product also the member's first model
# file). The NetCDF files are always written: the ensemble jobs read the members' time products back.


if ENSEMBLE_OUTPUTS:

    rule ensemble_products:
        input:
            unpack(get_ensemble_input),
            template=nwf.grib_template_inputs(config),
            grid=GRID_FILE,
            recipe=nwf.recipe_file(config, None),
            damaged=get_damaged([t for nc in ENSEMBLE_OUTPUTS.values()
                                 for t in nwf.fanin_output_templates(config, nc).values()]),
        output:
            **ENSEMBLE_OUTPUTS,
            **{f"{product}_{fmt}": path for product, nc in ENSEMBLE_OUTPUTS.items()
               for fmt, path in list(nwf.fanin_output_templates(config, nc).items())[1:]},
        log:
            "logs/{run}/ensemble/{lead}h/ensemble.log",
        benchmark:
            "logs/benchmarks/{run}/ensemble/{lead}h/ensemble.tsv"
        params:
            products=list(ENSEMBLE_OUTPUTS),
            formats=nwf.fanin_formats(config),
            grib2=config["grib2"],
            invalid_values=config["invalid_values"],
            statistics=config["ensemble"]["statistics"],
            quantiles=config["ensemble"]["quantiles"],
            thresholds={p: nwf.ensemble_thresholds(config, p) for p in ENSEMBLE_OUTPUTS},
            code=nwf.fanin_code(config),
        threads: config["threads"]
        resources:
            mem_mb=nwf.retried(nwf.ensemble_mem_mb(config), config),
            runtime=nwf.retried(config["resources"]["runtime"], config),
            disk_mb=DISK_MB,
        conda:
            "../envs/nwpflow.yaml"
        script:
            "../scripts/ensemble.py"


rule ensemble_time_product:
    input:
        members=get_ensemble_time_input,
        template=nwf.grib_template_inputs(config),
        grid=GRID_FILE,
        recipe=nwf.recipe_file(config, None),
        damaged=get_damaged(nwf.fanin_output_templates(config, nwf.ensemble_time_template(config)).values()),
    output:
        **nwf.fanin_output_templates(config, nwf.ensemble_time_template(config)),
    log:
        "logs/{run}/ensemble/time/{name}.log",
    benchmark:
        "logs/benchmarks/{run}/ensemble/time/{name}.tsv"
    wildcard_constraints:
        name=exactly(nwf.ensemble_time_products(config)),
    params:
        formats=nwf.fanin_formats(config),
        grib2=config["grib2"],
        invalid_values=config["invalid_values"],
        statistics=config["ensemble"]["statistics"],
        quantiles=config["ensemble"]["quantiles"],
        thresholds=get_ensemble_time_thresholds,
        code=nwf.fanin_code(config),
    threads: config["threads"]
    resources:
        mem_mb=nwf.retried(nwf.ensemble_mem_mb(config), config),
        runtime=nwf.retried(config["resources"]["runtime"], config),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/ensemble_time.py"


rule time_product:
    input:
        fields=get_time_input,
        template=lambda wildcards: nwf.grib_template_inputs(config, nwf.parse_label(wildcards.member)),
        grid=GRID_FILE,
        recipe=nwf.recipe_file(config, None),
        damaged=get_damaged(nwf.fanin_output_templates(config, nwf.time_template(config)).values()),
    output:
        **nwf.fanin_output_templates(config, nwf.time_template(config)),
    log:
        "logs/{run}/{member}/time/{name}.log",
    benchmark:
        "logs/benchmarks/{run}/{member}/time/{name}.tsv"
    wildcard_constraints:
        name=exactly(TIME_PRODUCTS),
    params:
        spec=get_time_params,
        lead_times=sorted(config["lead_times"]),
        formats=nwf.fanin_formats(config),
        grib2=config["grib2"],
        invalid_values=config["invalid_values"],
        code=nwf.fanin_code(config),
    threads: config["threads"]
    resources:
        mem_mb=nwf.retried(get_time_mem_mb, config),
        runtime=nwf.retried(config["resources"]["runtime"], config),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/time_product.py"
