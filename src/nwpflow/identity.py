"""Content identity: what a product's code and its input files are, by their bytes, never by their times.

Two questions decide whether a product file is up to date and what produced it (README,
"Reproducibility"): which code computes it, and which input files it was computed from.

* **Code**: the modules a computation uses are found from the import graph, by reading the source (an
  AST walk, nothing is imported): every ``import``/``from ... import`` of a module, at module level or
  inside a function, and every attribute ``pkg.sub`` of an imported package ``pkg`` whose submodule ``sub``
  exists (how product modules reach their kernels: ``kernels.thermo.dewpoint(...)``, PEP 562 lazy
  attributes). A module's digest is that of its bytes, plus the files of a folder beside it that it
  names in a string (``io/eccodes_env.py`` and its ``eccodes_definitions``). :func:`code_identity` hashes
  the sorted ``(module, digest)`` pairs of the closure of some root modules: touching a file, or a fresh
  clone of the same commit, changes nothing; editing one kernel changes exactly the identities whose
  closure holds it.
* **Files**: :func:`file_digest`, XXH3-128 (``xxhash``; ~20 GB/s from memory here, so that a job's input
  checksums stay a small fraction of its run time, docs/benchmarks.md), written ``xxh3_128:<32 hex>``;
  ``xxhsum -H2 FILE`` prints the same digest.

This module imports nothing of nwpflow but :mod:`nwpflow.errors`, and nothing heavy: Snakemake's parse
uses it (:mod:`nwpflow.workflow.identity`), and so do the jobs and numba's cache (:mod:`nwpflow.kernels._cache`).
"""

from __future__ import annotations

import ast
import functools
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path

import xxhash

ALGORITHM = "xxh3_128"
"""Name of the hash of every digest (prefix of the digest strings)."""

_CHUNK = 8 << 20
PACKAGE = "nwpflow"
PACKAGE_ROOT = Path(__file__).resolve().parent
"""The folder of the nwpflow package whose modules the identities describe."""


def bytes_digest(data: bytes | str) -> str:
    """Return ``xxh3_128:<hex>`` of ``data`` (text is encoded as UTF-8).

    Examples
    --------
    >>> bytes_digest(b"")
    'xxh3_128:99aa06d3014798d86001c324468d497f'
    """
    if isinstance(data, str):
        data = data.encode()
    return f"{ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def file_digest(path: str | os.PathLike) -> str:
    """Return ``xxh3_128:<hex>`` of the bytes of the file ``path``, read in 8 MiB blocks (the GIL is
    released while a block is hashed, so a thread can hash while others decode)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb", buffering=0) as f:
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        while n := f.readinto(buffer):
            digest.update(view[:n])
    return f"{ALGORITHM}:{digest.hexdigest()}"


# ------------------------------------------------------------------------------------- the import graph


@functools.lru_cache(maxsize=None)
def _top_level(top: str) -> tuple[Path | None, bool]:
    """(folder of package ``top``, True) or (file of module ``top``, False), found on ``sys.path``."""
    if top == PACKAGE:
        return PACKAGE_ROOT, True
    spec = PathFinder.find_spec(top)
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return None, False
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))), True
    return (Path(spec.origin) if spec.origin.endswith(".py") else None), False


def module_file(name: str) -> Path | None:
    """Return the source file of module ``name`` without importing anything (``None``: not a Python
    source module on ``sys.path``, e.g. a compiled extension or a builtin)."""
    top, *rest = name.split(".")
    base, package = _top_level(top)
    if base is None or not package:
        return base if not rest else None
    path = base.joinpath(*rest)
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@functools.lru_cache(maxsize=None)
def _parse(path: Path, mtime_ns: int, size: int) -> tuple[frozenset[str], frozenset[str], bytes]:
    """(modules imported, short strings, bytes) of a source file. Keyed by (mtime, size) only to notice a
    file that changed while this process runs; what is found depends on the bytes alone, and is kept in
    ``__pycache__/<module>.imports-<digest>.json`` (as Python keeps byte code there), so that a job does not
    parse again what an earlier process parsed (parsing the ~30 modules of a product takes ~0.3 s)."""
    data = path.read_bytes()
    saved = path.parent / "__pycache__" / f"{path.stem}.imports-{xxhash.xxh3_128_hexdigest(data)[:16]}.json"
    try:
        imported, strings = json.loads(saved.read_text(encoding="utf-8"))
        return frozenset(imported), frozenset(strings), data
    except (OSError, ValueError):
        pass
    imported, strings = _scan(path, data)
    try:
        saved.parent.mkdir(exist_ok=True)
        temporary = saved.with_name(f"{saved.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps([sorted(imported), sorted(strings)]), encoding="utf-8")
        os.replace(temporary, saved)
    except OSError:
        pass  # a read-only installation: parse again next time
    return frozenset(imported), frozenset(strings), data


def _scan(path: Path, data: bytes) -> tuple[set[str], set[str]]:
    """The AST walk of :func:`_parse`."""
    tree = ast.parse(data, filename=str(path))
    imported: set[str] = set()
    attributes: set[tuple[str, str]] = set()
    bound: dict[str, str] = {}  # local name -> module it is bound to
    strings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add(alias.name)
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = _package_of(path).split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            imported.add(base)
            for alias in node.names:
                imported.add(f"{base}.{alias.name}")
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attributes.add((node.value.id, node.attr))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 100:
            strings.add(node.value)
    for name, attribute in attributes:
        if name in bound:
            imported.add(f"{bound[name]}.{attribute}")
    return imported, strings


def _package_of(path: Path) -> str:
    """The package a file of nwpflow belongs to (for relative imports)."""
    try:
        parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    except ValueError:
        return ""
    return ".".join(parts if _is_package(path) else parts[:-1]).removesuffix(".__init__")


def imports_of(name: str) -> set[str]:
    """Return the modules that module ``name`` imports (those with a source file), as :func:`closure`
    follows them.

    Examples
    --------
    >>> "nwpflow.kernels.thermo" in imports_of("nwpflow.products.thermo")  # kernels.thermo.dewpoint(...)
    True
    """
    path = module_file(name)
    if path is None:
        return set()
    stat = path.stat()
    return set(_imports(name, path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=None)
def _imports(name: str, path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    imported, _, _ = _parse(path, mtime_ns, size)
    return frozenset(m for m in imported if m != name and module_file(m) is not None)


def closure(roots: Iterable[str], exclude: Iterable[str] = ()) -> dict[str, Path]:
    """Return ``{module: source file}`` of ``roots`` and every module they import, transitively.

    Only modules of the packages the roots belong to (and nwpflow's) are followed: a library such as
    numpy is identified by its version (:mod:`nwpflow.provenance`), not by its files. ``exclude``: modules
    not to enter (the other products' modules that ``nwpflow.products`` imports to register them).
    """
    roots = list(roots)
    packages = {PACKAGE} | {r.split(".")[0] for r in roots}
    exclude = set(exclude)
    found: dict[str, Path] = {}
    todo = [r for r in roots if r not in exclude]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = module_file(name)
        if path is None:
            continue
        found[name] = path
        todo.extend(m for m in imports_of(name) if m.split(".")[0] in packages and m not in exclude
                    and m not in found)
    return dict(sorted(found.items()))


def module_digest(name: str) -> str:
    """Return the digest of module ``name``: its bytes, and the files of each folder beside it that the
    module names in a string literal (data it reads, e.g. ecCodes definitions)."""
    path = module_file(name)
    if path is None:
        raise ModuleNotFoundError(f"no source file for module {name!r}")
    stat = path.stat()
    return _module_digest(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _module_digest(path: Path, mtime_ns: int, size: int) -> str:
    _, strings, data = _parse(path, mtime_ns, size)
    digest = xxhash.xxh3_128(data)
    folders = (s for s in strings if s.replace("_", "").replace("-", "").isalnum() and s != "__pycache__")
    for folder in sorted(f for f in folders if (path.parent / f).is_dir()):
        for file in sorted(p for p in (path.parent / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"\0{file.relative_to(path.parent)}\0".encode())
            digest.update(file.read_bytes())
    return f"{ALGORITHM}:{digest.hexdigest()}"


@dataclass(frozen=True)
class CodeIdentity:
    """The identity of some code: one digest over the digests of the modules it is made of."""

    digest: str
    modules: dict[str, str]
    """``{module: digest}``, sorted by name."""

    @property
    def short(self) -> str:
        """The first 16 hex digits of :attr:`digest` (what file names and rule params carry)."""
        return self.digest.split(":", 1)[1][:16]

    def differences(self, other: dict[str, str]) -> list[str]:
        """Return the modules whose digests differ between this identity and ``other`` (``{module: digest}``),
        one line each, e.g. ``"nwpflow.kernels.thermo: changed"``."""
        lines = []
        for name in sorted(set(self.modules) | set(other)):
            if name not in other:
                lines.append(f"{name}: used now, not then")
            elif name not in self.modules:
                lines.append(f"{name}: used then, not now")
            elif self.modules[name] != other[name]:
                lines.append(f"{name}: changed")
        return lines


def code_identity(roots: Iterable[str], exclude: Iterable[str] = (), *, extra: Iterable[str] = ()) -> CodeIdentity:
    """Return the :class:`CodeIdentity` of the closure of ``roots`` (:func:`closure`).

    ``extra``: text that belongs to the identity too (e.g. the versions of numba and Python, for the
    compiled kernels of numba's cache).

    Examples
    --------
    >>> a = code_identity(["nwpflow.kernels.thermo"])
    >>> [m for m in a.modules if m.startswith("nwpflow.kernels")]
    ['nwpflow.kernels', 'nwpflow.kernels._cache', 'nwpflow.kernels._jit', 'nwpflow.kernels.power', 'nwpflow.kernels.thermo']
    >>> a == code_identity(["nwpflow.kernels.thermo"])
    True
    """
    modules = {name: module_digest(name) for name in closure(roots, exclude)}
    text = "".join(f"{name} {digest}\n" for name, digest in modules.items()) + "".join(f"{e}\n" for e in extra)
    return CodeIdentity(bytes_digest(text), modules)


__all__ = ["ALGORITHM", "CodeIdentity", "bytes_digest", "closure", "code_identity", "file_digest", "imports_of",
           "module_digest", "module_file"]
