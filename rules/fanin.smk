# Fan-in products (nwpflow.products.fanin): over members (ensemble statistics of every product at one
# lead time, in one job per lead time; of a time product, one job each) and over lead times (accumulation deltas and window max/min/mean of one
# member). Config: `ensemble`, `time_statistics`. Paths:
#   results/{run}/ensemble/{lead}h/{PRODUCT}.nc   ensemble statistics of a product
#   results/{run}/{member}/time/{NAME}.nc         a time product, e.g. TOT_PREC_sum_3h, T_2M_max_24h
#   results/{run}/ensemble/time/{NAME}.nc         ensemble statistics of a time product


if ENSEMBLE_OUTPUTS:

    rule ensemble_products:
        input:
            unpack(get_ensemble_input),
            warm=ancient(WARM_STAMP),
        output:
            **ENSEMBLE_OUTPUTS,
        log:
            "logs/{run}/ensemble/{lead}h/ensemble.log",
        benchmark:
            "logs/benchmarks/{run}/ensemble/{lead}h/ensemble.tsv"
        params:
            statistics=config["ensemble"]["statistics"],
            quantiles=config["ensemble"]["quantiles"],
            thresholds={p: nwf.ensemble_thresholds(config, p) for p in ENSEMBLE_OUTPUTS},
        threads: config["threads"]
        resources:
            mem_mb=nwf.ensemble_mem_mb(config),
            runtime=config["resources"]["runtime"],
            disk_mb=DISK_MB,
        conda:
            "../envs/nwpflow.yaml"
        script:
            "../scripts/ensemble.py"


rule ensemble_time_product:
    input:
        members=get_ensemble_time_input,
        warm=ancient(WARM_STAMP),
    output:
        nwf.ensemble_time_template(config),
    log:
        "logs/{run}/ensemble/time/{name}.log",
    benchmark:
        "logs/benchmarks/{run}/ensemble/time/{name}.tsv"
    wildcard_constraints:
        name=exactly(nwf.ensemble_time_products(config)),
    params:
        statistics=config["ensemble"]["statistics"],
        quantiles=config["ensemble"]["quantiles"],
        thresholds=get_ensemble_time_thresholds,
    threads: config["threads"]
    resources:
        mem_mb=nwf.ensemble_mem_mb(config),
        runtime=config["resources"]["runtime"],
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/ensemble_time.py"


rule time_product:
    input:
        fields=get_time_input,
        warm=ancient(WARM_STAMP),
    output:
        nwf.time_template(config),
    log:
        "logs/{run}/{member}/time/{name}.log",
    benchmark:
        "logs/benchmarks/{run}/{member}/time/{name}.tsv"
    wildcard_constraints:
        name=exactly(TIME_PRODUCTS),
    params:
        spec=get_time_params,
        lead_times=sorted(config["lead_times"]),
    threads: config["threads"]
    resources:
        mem_mb=get_time_mem_mb,
        runtime=config["resources"]["runtime"],
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/time_product.py"
