"""Provenance records: what produced a product file, written into the file, read back and checked.

Every file a job writes carries one record (a JSON object): nwpflow's version and git commit (with a
dirty flag, or "not a git checkout"), the product, its options and the identity of its code (the digest
of exactly the modules its computation uses, and each module's digest: :mod:`nwpflow.products.identity`),
the digest of the workflow's config, every input file with its size and content digest, the versions of
the libraries that decode, compute and write it, the host, the thread count and the SLURM job id.

* NetCDF: the global attribute :data:`ATTRIBUTE` (the record as JSON text), beside CF's ``history``.
* GRIB2: a message has no place for free text (section 2 "local use" has no template for the COSMO
  centres in ecCodes' definitions), so the record goes to a file beside it, ``PRODUCT.grib2`` ->
  ``PRODUCT.grib2.provenance.json`` (:func:`sidecar_path`), written atomically right after it; what the
  messages themselves carry is the run's grid (``uuidOfHGrid``, ``numberOfGridUsed``) and the
  generating process of the model run they were derived from.

``nwpflow provenance FILE`` prints a record (:func:`describe`); ``nwpflow provenance --check FILE``
(:func:`check`) says whether the inputs still have their digests and whether the installed code would
compute the same product (the same code identity).

Only the fields listed in :data:`VOLATILE` may differ between two files of the same product computed from
the same inputs by the same code: the time, the host, the thread count and the SLURM job id.
:func:`comparable` removes them; ``benchmarks/compare_runs.py`` and the bit-identity tests use it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from nwpflow.errors import NwpflowError
from nwpflow.identity import PACKAGE_ROOT, file_digest

ATTRIBUTE = "nwpflow_provenance"
"""Global NetCDF attribute holding the record (JSON)."""

SIDECAR_SUFFIX = ".provenance.json"
"""Suffix of the record beside a file that cannot hold it (GRIB2)."""

FORMAT_VERSION = 1
"""Version of the record's layout (``record["format"]``)."""

VOLATILE = ("run.created", "run.host", "run.threads", "run.slurm_job_id")
"""Fields (dotted paths into the record) that may differ between two files of the same product computed
from the same inputs by the same code. Nothing else may: this is the one list of them (with
:data:`VOLATILE_INPUT`, which follows from it)."""

VOLATILE_INPUT = ("bytes", "digest")
"""Fields of an input entry that may differ too where the input is itself a file nwpflow wrote (entry
``"nwpflow_file": true``, e.g. HPBL's ``BRN.nc``, an ensemble job's member files): its own record holds
the :data:`VOLATILE` fields, so its size and checksum differ between two runs whose data are the same
(the input file itself is compared on its own)."""

CONFIG_DIGEST_ENV = "NWPFLOW_CONFIG_DIGEST"
"""Environment variable through which Snakemake's parse hands the config's digest to the jobs (an
environment variable, not a rule parameter: a change of the config that does not concern a product must
not re-run it)."""

LIBRARIES = ("numpy", "numba", "llvmlite", "xarray", "dask", "netCDF4", "eccodes", "eccodeslib",
             "eccodes-cosmo-resources-python", "snakemake", "xxhash")
"""Distributions whose versions a record names (with Python's and the ecCodes library's own)."""


class ProvenanceError(NwpflowError):
    """A file has no provenance record, or an unreadable one."""


# ------------------------------------------------------------------------------------------ the record


def git_state(folder: str | os.PathLike = PACKAGE_ROOT) -> dict[str, Any]:
    """Return ``{"commit": sha, "dirty": bool}`` of the git checkout that holds the nwpflow package, or
    ``{"commit": None, "dirty": None, "source": "not a git checkout"}`` (an installed package, no git).

    ``dirty``: a tracked file differs from the commit (``git status --porcelain --untracked-files=no``).
    The package's own files must be tracked by that checkout: a virtualenv inside another repository does
    not count as its checkout.
    """
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", os.fspath(folder), *args], capture_output=True, text=True, timeout=30)

    try:
        tracked = git("ls-files", "--error-unmatch", "__init__.py")
        if tracked.returncode != 0:
            raise FileNotFoundError
        commit = git("rev-parse", "HEAD").stdout.strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
    except (FileNotFoundError, OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "source": "not a git checkout"}
    return {"commit": commit, "dirty": dirty, "source": "git checkout"}


def library_versions() -> dict[str, str]:
    """Return the versions of Python, the :data:`LIBRARIES` and the ecCodes library in use (its definitions:
``eccodes-cosmo-resources-python``'s version; nwpflow's own overrides are in the code identity)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    if "eccodes" in sys.modules:  # a job that decoded or wrote GRIB: the library it loaded
        import eccodes

        versions["eccodes library"] = eccodes.codes_get_api_version()
    return versions


NOT_DIGESTED = ("threads", "numba_cache_dir")
"""Config keys left out of :func:`config_digest`: they cannot change a bit of any file (the kernels give the
same bits for any thread count; the cache holds the same machine code wherever it is), so runs that differ
only in them carry the same config digest (the thread count is in the record's ``run.threads``)."""


def config_digest(config: Mapping) -> str:
    """Return the digest of a (validated) workflow config, but its :data:`NOT_DIGESTED` keys: of its JSON
    text, keys sorted.

    Examples
    --------
    >>> config_digest({"b": 1, "a": [1, 2]}) == config_digest({"a": [1, 2], "b": 1})
    True
    >>> config_digest({"a": 1, "threads": 1}) == config_digest({"a": 1, "threads": 2})
    True
    """
    from nwpflow.identity import bytes_digest

    digested = {key: value for key, value in config.items() if key not in NOT_DIGESTED}
    return bytes_digest(json.dumps(digested, sort_keys=True, default=str, separators=(",", ":")))


@dataclass
class JobProvenance:
    """What every file of one job shares: its inputs (digested in a thread while the job reads them), the
    code's origin, the libraries and where it ran. :meth:`record` makes one product's record."""

    inputs: list[str]
    threads: int
    digests: Future = field(repr=False)
    common: dict = field(default_factory=dict)

    @classmethod
    def start(cls, inputs: Sequence[str | os.PathLike], threads: int) -> JobProvenance:
        """Begin the record of a job: the input digests start in a background thread (xxhash and file
        reads release the GIL, so they overlap the job's decoding)."""
        paths = [os.fspath(p) for p in inputs]
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nwpflow-digest")
        future = pool.submit(lambda: [_input_entry(p) for p in paths])
        pool.shutdown(wait=False)
        from nwpflow import __version__

        common = {"nwpflow": {"version": __version__, **git_state()},
                  "config": os.environ.get(CONFIG_DIGEST_ENV)}
        return cls(paths, int(threads), future, common)

    def record(self, product: str, options: Mapping[str, Any], code, *, formats: Sequence[str],
               kind: str = "product") -> dict[str, Any]:
        """The record of one file: ``product`` (a product, or for ``kind`` ``"ensemble"`` or ``"time"`` the
        variable of a fan-in file) computed with ``options`` by ``code`` (a
        :class:`~nwpflow.identity.CodeIdentity`) and written in ``formats``."""
        return {
            "format": FORMAT_VERSION,
            "kind": kind,
            "product": product,
            "options": _plain(options),
            "formats": list(formats),
            "code": {"digest": code.digest, "modules": dict(code.modules)},
            **self.common,
            "inputs": self.digests.result(),
            "software": library_versions(),
            "run": {"created": f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}", "host": platform.node(),
                    "threads": self.threads, "slurm_job_id": os.environ.get("SLURM_JOB_ID")},
        }


def _input_entry(path: str) -> dict[str, Any]:
    entry = {"path": path, "bytes": os.path.getsize(path), "digest": file_digest(path)}
    if path.endswith(".nc") and _holds_record(path):
        entry["nwpflow_file"] = True
    return entry


def _holds_record(path: str) -> bool:
    """Whether the NetCDF file ``path`` has the attribute :data:`ATTRIBUTE` (its name in the file's bytes;
    a scan of the mapped file, not netCDF4: this runs in the digest thread, beside the job's reads)."""
    import mmap

    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return mapped.find(ATTRIBUTE.encode()) != -1


def _plain(value):
    """``value`` with tuples as lists and mappings as sorted dicts, as JSON holds them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_json(record: Mapping) -> str:
    """The record as the JSON text files hold (keys in a fixed order, no spaces)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def sidecar_path(path: str | os.PathLike) -> Path:
    """Return the file that holds the record of a GRIB2 file (``X.grib2`` -> ``X.grib2.provenance.json``)."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


# ------------------------------------------------------------------------------------------ reading


def read(path: str | os.PathLike) -> dict[str, Any]:
    """Return the provenance record of a product file (NetCDF: its attribute; GRIB2: its sidecar)."""
    from nwpflow.io.formats import file_format

    path = Path(path)
    if not path.is_file():
        raise ProvenanceError(f"file {os.fspath(path)!r}: no such file")
    if path.name.endswith(SIDECAR_SUFFIX):
        text = path.read_text(encoding="utf-8")
    elif file_format(path) == "netcdf":
        import netCDF4

        try:
            with netCDF4.Dataset(path) as dataset:
                if ATTRIBUTE not in dataset.ncattrs():
                    raise ProvenanceError(f"file {os.fspath(path)!r}: no {ATTRIBUTE!r} attribute (not written by "
                                          "nwpflow, or by a version before 0.1's provenance records)")
                text = dataset.getncattr(ATTRIBUTE)
        except OSError as error:
            raise ProvenanceError(f"file {os.fspath(path)!r}: cannot be read as NetCDF: {error}") from None
    else:
        sidecar = sidecar_path(path)
        if not sidecar.is_file():
            raise ProvenanceError(f"file {os.fspath(path)!r}: its provenance record {sidecar.name!r} is missing")
        text = sidecar.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ProvenanceError(f"file {os.fspath(path)!r}: unreadable provenance record: {error}") from None


def comparable(record: Mapping) -> dict:
    """Return ``record`` without its :data:`VOLATILE` fields, and :data:`VOLATILE_INPUT` of its inputs that
    nwpflow wrote: what must be equal between two files of the same product, inputs and code.

    Examples
    --------
    >>> comparable({"product": "BRN", "run": {"created": "2026", "host": "a", "threads": 2, "slurm_job_id": None}})
    {'product': 'BRN', 'run': {}}
    >>> comparable({"inputs": [{"path": "BRN.nc", "bytes": 9, "digest": "x", "nwpflow_file": True}]})
    {'inputs': [{'path': 'BRN.nc', 'nwpflow_file': True}]}
    """
    result = json.loads(json.dumps(record))
    for entry in result.get("inputs") or []:
        if isinstance(entry, dict) and entry.get("nwpflow_file"):
            for key in VOLATILE_INPUT:
                entry.pop(key, None)
    for dotted in VOLATILE:
        *parents, leaf = dotted.split(".")
        node = result
        for key in parents:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return result


def describe(record: Mapping) -> str:
    """Return a record as text for people: one line per fact, the code's modules indented."""
    origin = record.get("nwpflow", {})
    if origin.get("commit"):
        where = f"git commit {origin['commit']}" + (" (with uncommitted changes)" if origin.get("dirty") else "")
    else:
        where = origin.get("source", "not a git checkout")
    run = record.get("run", {})
    lines = [
        f"product     {record.get('product')}",
        f"options     {json.dumps(record.get('options', {}), sort_keys=True)}",
        f"nwpflow     {origin.get('version')}, {where}",
        f"code        {record.get('code', {}).get('digest')}",
        *(f"              {name:<32} {digest}" for name, digest in record.get("code", {}).get("modules", {}).items()),
        f"config      {record.get('config') or '(not run by the workflow)'}",
        "inputs",
        *(f"              {i['path']}  {i['bytes']} bytes  {i['digest']}" for i in record.get("inputs", [])),
        "software    " + ", ".join(f"{k} {v}" for k, v in record.get("software", {}).items()),
        f"created     {run.get('created')} on {run.get('host')}, {run.get('threads')} threads"
        + (f", SLURM job {run['slurm_job_id']}" if run.get("slurm_job_id") else ""),
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ checking


@dataclass
class CheckResult:
    """The outcome of :func:`check`: ``inputs`` and ``code`` problems (empty lists: all as recorded)."""

    inputs: list[str]
    code: list[str]

    @property
    def ok(self) -> bool:
        return not self.inputs and not self.code

    def describe(self) -> str:
        lines = ["inputs: " + ("every input file has its recorded digest" if not self.inputs else "CHANGED"),
                 *(f"  {line}" for line in self.inputs),
                 "code:   " + ("the installed nwpflow computes this product with the same code" if not self.code
                               else "DIFFERENT: the installed nwpflow would not compute the same product"),
                 *(f"  {line}" for line in self.code)]
        return "\n".join(lines)


def check(path: str | os.PathLike, *, base: str | os.PathLike | None = None) -> CheckResult:
    """Check a product file's record against the files and the code here.

    Parameters
    ----------
    path : path-like
        The product file (or a GRIB2 file's sidecar).
    base : path-like, optional
        Folder the record's relative input paths are relative to (the workflow's working directory);
        default: the current one.
    """
    record = read(path)
    base = Path(base) if base is not None else Path.cwd()
    inputs = []
    for entry in record.get("inputs", []):
        where = Path(entry["path"])
        where = where if where.is_absolute() else base / where
        if not where.is_file():
            inputs.append(f"{entry['path']}: missing")
        elif (digest := file_digest(where)) != entry["digest"]:
            inputs.append(f"{entry['path']}: digest {digest}, recorded {entry['digest']}")
    return CheckResult(inputs, code_differences(record))


def code_differences(record: Mapping) -> list[str]:
    """Return how the installed code differs from the code a record names (empty: the same identity)."""
    from nwpflow.products.identity import fanin_identity, grid_identity, product_identity
    from nwpflow.products.registry import registry

    product = record.get("product", "")
    formats = record.get("formats") or ["netcdf"]
    recorded = record.get("code", {})
    kind = record.get("kind", "product")
    if kind == "grid":
        current = grid_identity()
    elif kind in ("ensemble", "time"):
        current = fanin_identity(formats)
    elif product in registry:
        current = product_identity(product, formats)
    else:
        return [f"product {product!r} is not in the registry of the installed nwpflow"]
    if current.digest == recorded.get("digest"):
        return []
    return current.differences(recorded.get("modules", {})) or [f"code digest {current.digest}, recorded "
                                                                 f"{recorded.get('digest')}"]


__all__ = ["ATTRIBUTE", "CONFIG_DIGEST_ENV", "FORMAT_VERSION", "NOT_DIGESTED", "SIDECAR_SUFFIX", "VOLATILE",
           "VOLATILE_INPUT", "CheckResult", "JobProvenance", "ProvenanceError", "check", "code_differences",
           "comparable", "config_digest", "describe", "git_state", "library_versions", "read", "sidecar_path",
           "to_json"]
