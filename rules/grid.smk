# The run's horizontal grid, written once: {output_dir}/{run}/grid.nc (nwpflow.io.grid: cell centres and,
# where the input has them, vertices, CF and UGRID). Every product file on ICON cells names it (global
# attributes uuidOfHGrid and grid_file) instead of repeating the cell coordinates.


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
        mem_mb=nwf.retried(config["resources"]["mem_base_mb"], config),
        runtime=nwf.retried(config["resources"]["runtime"], config),
        disk_mb=DISK_MB,
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/grid.py"
