"""The study behind nwpflow's design (issue 12), reproducible by one command::

    .venv/bin/python -m benchmarks.study            # the full study: writes docs/study.md and docs/study/*.png
    .venv/bin/python -m benchmarks.study --quick    # seconds-long smoke version (CI)

Each part runs in a fresh interpreter (:mod:`benchmarks.study.__main__`) and writes a JSON file; the report
(:mod:`benchmarks.study.report`) turns them into tables and figures.
"""
