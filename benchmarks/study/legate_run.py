"""Prepare and start the Legate part (:mod:`benchmarks.study.legate_part`) in an interpreter that has Legate.

Facts this encodes (found when Legate 26.6 was tried on a 2-core VM without a GPU):

* PyPI's ``legate`` and ``nvidia-cupynumeric`` wheels are CUDA builds (~3 GB with the CUDA libraries they
  pull in); ``import legate`` fails with ``libcuda.so.1: cannot open shared object file`` where no NVIDIA
  driver is installed. A stub ``libcuda.so.1`` whose entry points answer ``CUDA_ERROR_NO_DEVICE``
  (``cuda_stub.c``, compiled here with ``cc``) lets it start on CPUs only.
* Its automatic configuration must be off and the CPUs given: ``LEGATE_AUTO_CONFIG=0``,
  ``LEGATE_CONFIG="--cpus N --gpus 0 --omps 0 --utility 1 --sysmem MB"``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def has_legate(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import importlib.util, sys; "
                            "sys.exit(0 if importlib.util.find_spec('legate') and "
                            "importlib.util.find_spec('cupynumeric') else 1)"], capture_output=True)
    return probe.returncode == 0


def has_driver() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def stub_library(work: Path) -> Path:
    """Compile ``cuda_stub.c`` into ``work/cuda-stub/libcuda.so.1`` and return its folder."""
    folder = work / "cuda-stub"
    folder.mkdir(parents=True, exist_ok=True)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("no C compiler (cc) to build the libcuda.so.1 stub")
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(folder / "libcuda.so.1"),
                    str(HERE / "cuda_stub.c"), "-ldl"], check=True)
    return folder


def run(python: str, json_path: Path, work: Path, cpus: int, quick: bool, env: dict) -> dict:
    """Run the Legate part; return what happened (``status``: ran, not installed, failed)."""
    if not has_legate(python):
        return {"status": "not installed",
                "why": f"{python} cannot import legate and cupynumeric: install the `legate` extra "
                       "(`pip install -e '.[legate]'`, ~3 GB) or pass --legate-python"}
    env = dict(env)
    notes = []
    if not has_driver():
        folder = stub_library(work)
        env["LD_LIBRARY_PATH"] = f"{folder}{os.pathsep}{env.get('LD_LIBRARY_PATH', '')}"
        notes.append("no NVIDIA driver: a stub libcuda.so.1 answering CUDA_ERROR_NO_DEVICE was loaded")
    gpus = 0  # a GPU, where there is one, is measured with the same script by LEGATE_CONFIG of your own
    env.setdefault("LEGATE_AUTO_CONFIG", "0")
    env.setdefault("LEGATE_CONFIG", f"--cpus {cpus} --gpus {gpus} --omps 0 --utility 1 --sysmem 8000")
    command = [python, "-m", "benchmarks.study.legate_part", "--json", str(json_path), "--cpus", str(cpus)]
    proc = subprocess.run(command + (["--quick"] if quick else []), env=env, capture_output=True, text=True,
                          cwd=HERE.parents[1])
    print(proc.stdout[-3000:], flush=True)
    if proc.returncode:
        return {"status": "failed", "returncode": proc.returncode, "notes": notes,
                "LEGATE_CONFIG": env["LEGATE_CONFIG"],
                "stderr": "\n".join(line for line in proc.stderr.splitlines()
                                    if not line.startswith("LEGATE ERROR: #"))[-3000:]}
    return {"status": "ran", "notes": notes, "LEGATE_CONFIG": env["LEGATE_CONFIG"]}
