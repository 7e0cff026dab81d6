# Rule warm_cache: compiles every kernel the other jobs use into numba's on-disk cache
# (config numba_cache_dir), once, before them, so that no later job compiles: each loads. Its stamp file
# is named after the package's source files and numba's version (nwpflow.workflow.warm_stamp): a code
# change gives a new stamp, and the next run warms the cache again.


rule warm_cache:
    output:
        WARM_STAMP,
    log:
        "logs/warm_cache.log",
    benchmark:
        "logs/benchmarks/warm_cache.tsv"
    params:
        products=WRITTEN_PRODUCTS,
        options={product: nwf.product_options(config, product) for product in WRITTEN_PRODUCTS},
        ensemble=bool(nwf.ensemble_products(config) or nwf.ensemble_time_products(config)),
        time_products=TIME_PRODUCTS,
    threads: config["threads"]
    resources:
        mem_mb=nwf.retried(config["resources"]["mem_base_mb"] + 512, config),
        runtime=nwf.retried(config["resources"]["runtime"], config),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/warm_cache.py"
