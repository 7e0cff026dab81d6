r"""Generate ``docs/products.md``, the product catalogue, from the registry.

Every registered product gets its name, description, inputs, required products, units, CF standard name,
options (default and allowed values), formula reference, validation (oracle and tolerance) and the formula
and notes of its docstring. The renderer only iterates the registry: a product documents itself by
registering. Citation keys written MetPy-style, ``[Bolton1980]_``, become links into ``docs/references.md``,
the one bibliography of the project.

Run ``nwpflow docs`` to rewrite the file (``nwpflow docs --check`` to check it); ``tests/test_docs.py`` fails while it
differs from :func:`render`.
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from nwpflow.products.registry import Option, Product

CITATION = re.compile(r"\[([A-Za-z][A-Za-z0-9.\-]*)\]_")
"""A citation key as MetPy's docstrings write it: ``[Key]_``."""

_ROLE = re.compile(r":(?:func|mod|class|data|meth|attr|obj|py:\w+):`~?([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_UNDERLINE = re.compile(r"^(-{3,}|={3,}|~{3,})$")
_LIST_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Attributes"}

HEADER = """\
# Product catalogue

<!-- Generated from the product registry by `nwpflow docs`; do not edit by hand.
     tests/test_docs.py fails while this file differs from nwpflow.products.docs.render(). -->

Every product nwpflow computes, as registered in `nwpflow.products.registry`: compute one with
`nwpflow.compute(NAME, dataset, **options)` or `nwpflow compute NAME --input FILES --output DIR
--option NAME.OPTION=VALUE`. Inputs are data-model fields (see [data-model.md](data-model.md)); a
product that *requires* another consumes it (computed once per job, or read back from its file).
Citation keys refer to [references.md](references.md).
"""


def anchor(key: str) -> str:
    """The HTML anchor of a product or citation key."""
    return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


def link_citations(text: str) -> str:
    """Turn ``[Key]_`` into a Markdown link to the key in ``references.md``."""
    return CITATION.sub(lambda m: f"[[{m.group(1)}]](references.md#{anchor(m.group(1))})", text)


def citations(text: str) -> set[str]:
    """Citation keys ``[Key]_`` in ``text``."""
    return set(CITATION.findall(text))


def _inline(text: str) -> str:
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    text = _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1] if m.group(0).count('~') else m.group(1)}`", text)
    text = _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    return link_citations(text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_to_markdown(docstring: str) -> str:
    """Markdown of a numpydoc/reST docstring: ``.. math::`` blocks become fenced ``math`` blocks (one per
    equation), section titles become bold, the entries of Parameters/Returns-like sections become list
    items, inline roles and literals become code or ``$...$`` math, and citation keys become links.
    Indentation is capped at two spaces so that no paragraph turns into a code block."""
    lines = inspect.cleandoc(docstring).splitlines()
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = re.match(r"^(\s*)\.\. math::\s*(.*)$", line)
        if directive:
            indent = len(directive.group(1))
            body = [directive.group(2)] if directive.group(2) else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
                body.append(lines[i])
                i += 1
            for equation in re.split(r"\n\s*\n", textwrap.dedent("\n".join(body)).strip("\n")):
                out += ["```math", equation.strip("\n"), "```", ""]
            continue
        stripped = line.strip()
        if stripped and i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].strip()):
            section = stripped
            out += [f"**{stripped}**", ""]
            i += 2
            continue
        if not stripped:
            out.append("")
        elif section in _LIST_SECTIONS and _indent(line) == 0:  # "name : type" of a numpydoc entry
            name, colon, kind = stripped.partition(" : ")
            out.append(f"- `{name}`" + (f" : {_inline(kind)}" if colon else ""))
        elif section in _LIST_SECTIONS:  # its description, continuing the list item
            out.append("  " + _inline(stripped))
        else:
            out.append(" " * min(_indent(line), 2) + _inline(stripped))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code_list(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(f"`{n}`" for n in names) if names else "—"


def _value(value) -> str:
    return f"`{value!r}`"


def _options_table(options: dict[str, Option]) -> list[str]:
    rows = ["| option | default | allowed values | description |", "|---|---|---|---|"]
    for name, option in options.items():
        allowed = ", ".join(_value(c) for c in option.choices) if option.choices is not None else "any"
        rows.append(f"| `{name}` | {_value(option.default)} | {_cell(allowed)} | "
                    f"{_cell(link_citations(option.description))} |")
    return rows


def _module_title(module: str) -> str:
    doc = inspect.getdoc(sys.modules.get(module)) if module in sys.modules else None
    first = (doc or "").strip().splitlines()[0] if doc else ""
    return f"`{module}`" + (f": {_inline(first.rstrip('.'))}" if first else "")


def _product_section(product: Product) -> list[str]:
    lines = [f'<a id="{anchor(product.name)}"></a>', "", f"### {product.name}: {product.description}", ""]
    lines += [
        f"- **Units:** `{product.units}`",
        f"- **CF standard name:** {f'`{product.standard_name}`' if product.standard_name else '—'}",
        f"- **Inputs:** {_code_list(product.inputs)}",
        f"- **Requires:** {', '.join(f'[`{r}`](#{anchor(r)})' for r in product.requires) or '—'}",
        f"- **Reference:** {_cell(link_citations(product.reference)) or '—'}",
        f"- **Validation:** {_cell(link_citations(product.validation)) or '—'}",
        f"- **Options:** {'none' if not product.options else ''}".rstrip(),
    ]
    if product.options:
        lines += ["", *_options_table(dict(product.options))]
    doc = inspect.getdoc(product.function)
    if doc:
        lines += ["", f"Formula and notes (`{product.function.__module__}.{product.function.__name__}`):", "",
                  rst_to_markdown(doc)]
    return [*lines, ""]


def render(products: Iterable[Product] | None = None) -> str:
    """Return the Markdown catalogue of ``products`` (default: every registered product).

    Products are grouped by the module that registers them, in registration order; the output depends on
    nothing but the products, so the file it is written to can be compared with it.
    """
    if products is None:
        from nwpflow.products import registry

        products = list(registry.values())
    products = list(products)
    lines = [HEADER, "## Summary", "",
             "| product | description | units | inputs | requires | options (default) |",
             "|---|---|---|---|---|---|"]
    for p in products:
        options = ", ".join(f"`{k}={o.default!r}`" for k, o in p.options.items()) or "—"
        requires = ", ".join(f"`{r}`" for r in p.requires) or "—"
        lines.append(f"| [`{p.name}`](#{anchor(p.name)}) | {_cell(p.description)} | `{p.units}` | "
                     f"{_cell(_code_list(p.inputs))} | {requires} | {_cell(options)} |")
    lines.append("")
    modules: dict[str, list[Product]] = {}
    for p in products:
        modules.setdefault(p.function.__module__, []).append(p)
    for module, members in modules.items():
        lines += [f"## {_module_title(module)}", ""]
        for p in members:
            lines += _product_section(p)
    return "\n".join(lines).rstrip("\n") + "\n"


def default_path() -> Path:
    """``docs/products.md`` of the source checkout this module lies in, else of the working directory."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file():
        root = Path.cwd()
    return root / "docs" / "products.md"
