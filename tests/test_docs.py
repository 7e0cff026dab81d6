"""docs/products.md is generated from the registry and kept current; docs/references.md holds every key cited."""

from __future__ import annotations

import inspect
import re

from nwpflow.products import registry
from nwpflow.cli import main
from nwpflow.products.docs import anchor, citations, default_path, render, rst_to_markdown
from nwpflow.products.registry import Option, Product

from conftest import ROOT

PRODUCTS_MD = ROOT / "docs" / "products.md"
REFERENCES_MD = ROOT / "docs" / "references.md"
ENTRY = re.compile(r'<a id="([^"]+)"></a>\n- \*\*\[([^\]]+)\]\*\*')


def test_products_md_is_current():
    assert default_path() == PRODUCTS_MD
    current = PRODUCTS_MD.read_text(encoding="utf-8") if PRODUCTS_MD.exists() else ""
    assert current == render(), (
        "docs/products.md differs from the product registry: run `nwpflow docs` "
        "and commit the result")


def test_every_product_documents_itself():
    """What docs/products.md promises for each product: a description, units, a formula reference and the
    oracle that validates it with its tolerance, and a description of every option."""
    incomplete = {p.name: [f for f in ("description", "units", "reference", "validation") if not getattr(p, f)]
                  + [f"option {k}" for k, o in p.options.items() if not o.description]
                  for p in registry.values()}
    assert not {k: v for k, v in incomplete.items() if v}, "products with empty documentation fields"
    text = render()
    for product in registry.values():
        assert f"### {product.name}: {product.description}" in text


def references() -> dict[str, str]:
    """Keys of docs/references.md -> their anchors."""
    entries = ENTRY.findall(REFERENCES_MD.read_text(encoding="utf-8"))
    return {key: anchor_id for anchor_id, key in entries}


def test_references_are_well_formed_and_sorted():
    entries = references()
    assert len(entries) >= 10
    for key, anchor_id in entries.items():
        assert anchor_id == anchor(key), f"{key}: anchor must be {anchor(key)!r}"
    assert list(entries) == sorted(entries, key=str.lower), "keep docs/references.md sorted by key"


def test_every_cited_key_has_a_reference():
    """Every ``[Key]_`` in a product's entry or docstring (what products.md links) is in references.md."""
    cited: dict[str, set[str]] = {}
    for product in registry.values():
        texts = [product.reference, product.validation, inspect.getdoc(product.function) or "",
                 *(o.description for o in product.options.values())]
        for key in citations("\n".join(texts)):
            cited.setdefault(key, set()).add(product.name)
    missing = {key: sorted(names) for key, names in cited.items() if key not in references()}
    assert not missing, f"cited but not in docs/references.md (add them there): {missing}"
    assert {"COSMO-PartI", "WMO306", "Moshier1989"} <= set(cited)


def _example(dataset, *, cache, method):
    r"""Compute an example.

    .. math::

        x = \frac{a}{b}

        y = 2 x

    with :math:`a` from ``A`` (:func:`~nwpflow.compute`), after [Bolton1980]_.

    Parameters
    ----------
    method : {"one", "two"}
        How to do it,
        in two lines.
    """


def test_render_shows_every_field_of_a_product():
    product = Product(name="EX_AMPLE", description="an | example", units="K", inputs=("A", "B"),
                      function=_example, standard_name="air_temperature", requires=("BRN",),
                      options={"method": Option("one", "the method, see [Stull1988]_", ("one", "two"))},
                      reference="eq. 1 [Bolton1980]_", validation="oracle X: rtol 1e-6")
    text = render([product])
    assert text == render([product])  # deterministic
    assert "| [`EX_AMPLE`](#ex-ample) | an \\| example | `K` | `A`, `B` | `BRN` | `method='one'` |" in text
    assert '<a id="ex-ample"></a>' in text and "### EX_AMPLE: an | example" in text
    assert "- **CF standard name:** `air_temperature`" in text
    assert "- **Requires:** [`BRN`](#brn)" in text
    assert "- **Reference:** eq. 1 [[Bolton1980]](references.md#bolton1980)" in text
    assert "- **Validation:** oracle X: rtol 1e-6" in text
    assert ("| `method` | `'one'` | `'one'`, `'two'` | the method, see [[Stull1988]](references.md#stull1988) |"
            in text)
    assert "```math\nx = \\frac{a}{b}\n```\n\n```math\ny = 2 x\n```" in text
    assert "with $a$ from `A` (`compute`), after [[Bolton1980]](references.md#bolton1980)." in text
    assert "**Parameters**\n\n- `method` : {\"one\", \"two\"}\n  How to do it,\n  in two lines." in text


def test_rst_to_markdown_leaves_no_code_blocks_from_indentation():
    text = rst_to_markdown("Title.\n\n    deeply indented prose\n        deeper")
    assert all(len(line) - len(line.lstrip()) <= 2 for line in text.splitlines())


def test_cli_writes_and_checks_the_render(tmp_path, capsys):
    """`nwpflow docs -o FILE` writes render(); `--check` passes on it and fails, exit 1, once it differs."""
    path = tmp_path / "docs" / "products.md"
    assert main(["docs", "-o", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == render()
    assert main(["docs", "-o", str(path), "--check"]) == 0
    path.write_text(render() + "edited\n", encoding="utf-8")
    assert main(["docs", "-o", str(path), "--check"]) == 1
    assert "nwpflow docs" in capsys.readouterr().err
