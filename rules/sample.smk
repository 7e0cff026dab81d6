# The embedded sample run: a synthetic ICON-like run written by nwpflow.io.sample.write_sample, so
# that the workflow runs without real model data (config: sample.activate, sample.preset).


rule sample:
    output:
        get_sample_output(),
    log:
        "logs/sample/sample.log",
    benchmark:
        "logs/benchmarks/sample/sample.tsv"
    params:
        # The folder of the sample run: that of its first file, the constants file.
        directory=lambda wildcards, output: os.path.dirname(output[0]),
        preset=config["sample"]["preset"],
        members=config["members"],
        lead_times=config["lead_times"],
        code=nwf.sample_code(),
    conda:
        "../envs/nwpflow.yaml"
    script:
        "../scripts/sample.py"
