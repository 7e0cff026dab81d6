# The run's horizontal grid, written once: {output_dir}/{run}/grid.nc (nwpflow.io.grid: cell centres and,
# where the input has them, vertices, CF and UGRID). Every product file on ICON cells names it (global
# attributes uuidOfHGrid and grid_file) instead of repeating the cell coordinates.
# Rule identity: the recipe files of content-based re-runs (nwpflow.workflow.identity), and rule redo: the
# marker that re-runs a job whose output exists but is not whole. Both are shell rules run by Snakemake
# itself (a `run:` rule would re-parse the workflow in a new process: ~4 s per file).


localrules:
    identity,
    redo,


rule grid:
    input:
        nwf.grid_inputs(config),
    output:
        GRID_FILE,
    log:
        "logs/{run}/grid.log",
    params:
        code=nwf.grid_code(),
    resources:
        mem_mb=config["resources"]["mem_base_mb"],
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/grid.py"


rule identity:
    output:
        nwf.recipe_template(config),
    wildcard_constraints:
        recipe=exactly(RECIPES),
    params:
        recipe=lambda wildcards: nwf.recipe_text(RECIPES[wildcards.recipe]),
    shell:
        "printf '%s' {params.recipe:q} > {output:q}"


rule redo:
    output:
        temp(nwf.redo_template(config)),
    shell:
        "echo 'an output of the job that needs this existed but was not whole' > {output:q}"
