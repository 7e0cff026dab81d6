# Rule warm_cache: compiles every kernel the other jobs use into numba's on-disk cache (config
# numba_cache_dir), in parallel processes, before the product jobs start (priority), so that they only
# load. Its stamp is named by the content identity of the code it compiled and the numba, llvmlite and
# Python versions (nwpflow.workflow.warm_stamp): touching a file or a fresh clone finds it; a change of a
# kernel warms again. The stamp is a target of rule `all` and an input of no job, so that a warm-up never
# makes a product out of date and a product job never waits for one: a kernel the cache lacks is
# compiled once, by the first process that needs it, under a lock (nwpflow.kernels._cache).


rule warm_cache:
    output:
        WARM_STAMP,
    log:
        "logs/warm_cache.log",
    benchmark:
        "logs/benchmarks/warm_cache.tsv"
    params:
        products=WRITTEN_PRODUCTS,
        options={product: nwf.resolved_options(config, product) for product in WRITTEN_PRODUCTS},
        ensemble=bool(nwf.ensemble_products(config) or nwf.ensemble_time_products(config)),
        time_products=TIME_PRODUCTS,
    priority: 100
    threads: config["threads"]
    resources:
        mem_mb=nwf.retried(config["resources"]["mem_base_mb"] + 512, config),
        runtime=nwf.retried(config["resources"]["runtime"], config),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/warm_cache.py"
