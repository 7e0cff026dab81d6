"""What runs inside a job: the job scripts (``scripts/*.py``) call one ``run_*_job`` function here.

Each module is one kind of job and imports only what that job needs:

* :mod:`~nwpflow.jobs.frame` — the frame every job shares: stderr and logging to the job's log, the
  thread count, the end of the process;
* :mod:`~nwpflow.jobs.outputs` — a job's request checked before any input is read, and its products
  written in every output format;
* :mod:`~nwpflow.jobs.compute` — products of one member and lead time, one job each (and the CLI's
  ``nwpflow compute``);
* :mod:`~nwpflow.jobs.bundle` — several products of one member and lead time as one ``dask.delayed`` graph;
* :mod:`~nwpflow.jobs.fanin` — ensemble statistics over members, time statistics over lead times;
* :mod:`~nwpflow.jobs.sample` — the embedded sample run;
* :mod:`~nwpflow.jobs.warm` — numba's cache compiled once, before the other jobs.

What the rules need while Snakemake parses the workflow is :mod:`nwpflow.workflow`.
"""
