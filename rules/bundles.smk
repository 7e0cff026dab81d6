# Bundles (config `bundles: {name: [PRODUCT, ...] or all}`): one rule per bundle, one job per member and
# lead time, writing the same files the products' own rules would (a bundled product gets no rule of
# its own, so that no file has two rules). The job builds one dask.delayed graph: every input field
# decoded once, every product an independent task (nwpflow.jobs.bundle); its numba threads x dask workers
# never exceed `threads`. Config `formats`: every product's file in each format (output PRODUCT is its
# first format's file, PRODUCT_grib2 etc. the others). A change of one product's code or options
# re-runs the bundles that hold it (params `code`, inputs `recipes`; rules/products.smk).

for bundle, bundled in nwf.bundles(config).items():

    rule:
        name:
            f"bundle_{bundle}"
        input:
            data=get_product_input,
            requires=get_required_input(bundled),
            grid=GRID_FILE,
            recipes=[nwf.recipe_file(config, product) for product in bundled],
            damaged=get_damaged([t for product in bundled for t in nwf.output_templates(config, product).values()]),
        output:
            **{product: nwf.output_template(config, product) for product in bundled},
            **{f"{product}_{fmt}": path for product in bundled
               for fmt, path in list(nwf.output_templates(config, product).items())[1:]},
        log:
            nwf.bundle_log_template(bundle),
        benchmark:
            nwf.bundle_benchmark_template(bundle)
        params:
            products=list(bundled),
            options={product: nwf.resolved_options(config, product) for product in bundled},
            formats=nwf.product_formats(config),
            grib2=config["grib2"],
            read=get_read_request,
            code={product: nwf.product_code(config, product) for product in bundled},
        threads: config["threads"]
        resources:
            mem_mb=nwf.retried(nwf.bundle_mem_mb(config, bundled), config),
            runtime=nwf.retried(config["resources"]["runtime"] * len(bundled), config),
            disk_mb=DISK_MB,
        conda:
            "../envs/nwpflow.yaml"
        script:
            "../scripts/bundle.py"
