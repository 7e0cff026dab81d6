# One rule per product, all of the same shape, defined in a loop over the configured products: a
# new product only needs its entry in the registry (nwpflow.products) and in config/schema.yaml.
# Paths (nwpflow.workflow): results/{run}/{member}/{lead}h/PRODUCT.nc, with its log under logs/
# and its benchmark table under logs/benchmarks/ (benchmarks/ holds the project's own benchmarks).

for product in config["products"]:

    rule:
        name:
            product.lower()
        input:
            get_product_input,
        output:
            nwf.output_template(config, product),
        log:
            nwf.log_template(product),
        benchmark:
            nwf.benchmark_template(product)
        params:
            product=product,
        threads: config["threads"]
        resources:
            mem_mb=get_product_mem_mb(product),
            runtime=config["resources"]["runtime"],
        conda:
            "../envs/nwpflow.yaml"
        script:
            "../scripts/product.py"
