"""The README's Quick start is what a new user runs and what CI runs: keep the two in step."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    """The fenced ```sh blocks of the README's '## Quick start' section, as lists of lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README.md has no '## Quick start' section"
    section = match.group(1)
    fences = re.findall(r"^```(\S*)\n(.*?)^```$", section, re.M | re.S)
    assert all(lang == "sh" for lang, _ in fences), fences
    return [body.splitlines() for _, body in fences]


def test_quick_start_has_two_single_line_commands():
    blocks = quick_start_commands()
    assert len(blocks) == 2, blocks
    for lines in blocks:
        assert len(lines) == 1 and lines[0].strip(), lines
        assert not lines[0].rstrip().endswith("\\"), lines


def test_quick_start_first_command_installs_and_runs_the_pipeline():
    first = quick_start_commands()[0][0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install --require-hashes -r requirements.lock && .venv/bin/pip install --no-deps -e .")
    assert first.endswith(".venv/bin/snakemake")


def test_ci_runs_the_second_command_verbatim():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run is not executable"
    lines = ci.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    second = quick_start_commands()[1][0]
    assert second == ".venv/bin/python -m pytest"
    assert second in lines, f"{second!r} is not a line of .ci/run"
    # The environment is created the way the first command creates it, before the tests run.
    install = "python3 -m venv .venv && .venv/bin/pip install --require-hashes -r requirements.lock && .venv/bin/pip install --no-deps -e ."
    assert install in lines
    assert lines.index(install) < lines.index(second)
