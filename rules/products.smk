# One rule per product, all of the same shape, defined in a loop over the products the config writes
# (config `products` and the products they require) that are in no bundle: a new product only needs
# its entry in the registry (nwpflow.products; docs/architecture.md has the checklist).
# Paths (nwpflow.workflow): results/{run}/{member}/{lead}h/PRODUCT.nc, with its log under logs/
# and its benchmark table under logs/benchmarks/ (benchmarks/ holds the project's own benchmarks).
# A product that consumes another one (registry `requires`: HPBL uses BRN) has that product's file
# as an input `requires`, and its job reads it back instead of computing it again.
# Config `formats`: one output per format, PRODUCT.nc and/or PRODUCT.grib2, written by the same job
# (params `formats` and `grib2`).
# Re-runs by content (nwpflow.workflow.identity): params `code` is the identity of exactly the modules
# the product's computation uses, input `recipe` the file named by that identity, its options and
# formats; input `damaged` is a redo marker where an output exists but is not whole.

for product in nwf.rule_products(config):

    rule:
        name:
            product.lower()
        input:
            data=get_product_input,
            requires=get_required_input([product]),
            grid=GRID_FILE,
            recipe=nwf.recipe_file(config, product),
            damaged=get_damaged(nwf.output_templates(config, product).values()),
        output:
            **nwf.output_templates(config, product),
        log:
            nwf.log_template(product),
        benchmark:
            nwf.benchmark_template(product)
        params:
            product=product,
            options=nwf.resolved_options(config, product),
            formats=nwf.product_formats(config),
            grib2=config["grib2"],
            read=get_read_request,
            code=nwf.product_code(config, product),
        threads: config["threads"]
        resources:
            mem_mb=nwf.retried(get_product_mem_mb(product), config),
            runtime=nwf.retried(config["resources"]["runtime"], config),
            # set here, not left to Snakemake's default (an expression of the input sizes evaluated for
            # every job: a third of the DAG-building time of an ICON-CH1-EPS day)
            disk_mb=DISK_MB,
        conda:
            "../envs/nwpflow.yaml"
        script:
            "../scripts/product.py"
