"""Command line: ``nwpflow products | compute | sample | docs | provenance``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from nwpflow.errors import NwpflowError


def _products(args: argparse.Namespace) -> None:
    from nwpflow.products import registry

    rows = [(p.name, p.units, " ".join(p.inputs), p.description) for p in registry.values()]
    header = ("product", "units", "inputs", "description")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3])


def _parse_options(items: list[str]) -> dict[str, dict]:
    options: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        product, dot, option = key.partition(".")
        if not sep or not dot:
            raise NwpflowError(f"--option {item!r}: write PRODUCT.OPTION=VALUE")
        options.setdefault(product, {})[option] = yaml.safe_load(value)
    return options


def _compute(args: argparse.Namespace) -> None:
    from nwpflow.jobs.compute import compute_products
    from nwpflow.naming import FORMAT_SUFFIXES

    grib2 = {"packing": args.grib2_packing, "bits_per_value": args.bits_per_value}
    formats = args.format.split(",") if args.format else None
    if args.output.endswith(tuple(FORMAT_SUFFIXES.values())):  # a file: one product, its format from the suffix
        if len(args.products) != 1:
            raise NwpflowError(f"--output {args.output!r} is a file: give one product, or a folder for "
                               f"{len(args.products)}")
        outputs, output_dir = {args.products[0]: Path(args.output)}, None
    else:
        outputs, output_dir = None, args.output
        formats = formats or ["netcdf"]
    written = compute_products(args.products, args.input, outputs=outputs, output_dir=output_dir,
                               options=_parse_options(args.option), threads=args.threads,
                               formats=formats, grib2=grib2)
    for name, path in written.items():
        print(f"{name}: {path}")


def _sample(args: argparse.Namespace) -> None:
    from nwpflow.io.sample import write_sample

    written = write_sample(args.output, args.preset, members=args.members, lead_times=args.lead_times,
                           packing=args.packing, bits_per_value=args.bits_per_value, seed=args.seed)
    print(f"wrote {len(written)} GRIB files to {args.output}")


def _docs(args: argparse.Namespace) -> None:
    from nwpflow.products import docs

    path = args.output or docs.default_path()
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != docs.render():
            raise NwpflowError(f"{path} is not what the registry renders: run `nwpflow docs` to regenerate it")
        print(f"{path} is up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docs.render(), encoding="utf-8")
    print(f"wrote {path}")


def _provenance(args: argparse.Namespace) -> None:
    from nwpflow import provenance

    failed = []
    for path in args.files:
        if len(args.files) > 1:
            print(f"== {path}")
        if args.check:
            result = provenance.check(path, base=args.base)
            print(result.describe())
            if not result.ok:
                failed.append(path)
        else:
            print(provenance.describe(provenance.read(path)))
    if failed:
        raise NwpflowError(f"{', '.join(failed)}: not what the recorded inputs and the installed code would make")


def _integers(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def parser() -> argparse.ArgumentParser:
    from nwpflow import __version__

    main = argparse.ArgumentParser(prog="nwpflow", description="Post-process NWP model output.")
    main.add_argument("--version", action="version", version=f"nwpflow {__version__}")
    main.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = main.add_subparsers(dest="command", required=True)

    products = commands.add_parser("products", help="list the products with their inputs and units")
    products.set_defaults(run=_products)

    compute = commands.add_parser("compute", help="compute products from GRIB or NetCDF files")
    compute.add_argument("products", nargs="+", metavar="PRODUCT")
    compute.add_argument("--input", "-i", nargs="+", required=True, metavar="FILE",
                         help="files of the run (data files and the constants file)")
    compute.add_argument("--output", "-o", required=True, metavar="DIR|FILE",
                         help="writes DIR/PRODUCT.nc (and/or .grib2, --format), or FILE.nc or FILE.grib2 (one product)")
    compute.add_argument("--format", default=None, metavar="netcdf,grib2",
                         help="output formats, comma-separated (default: netcdf, or the suffix of FILE)")
    compute.add_argument("--grib2-packing", default="ieee", choices=("ieee", "simple", "ccsds"),
                         help="GRIB2 packing (default ieee: 32-bit floats, exact)")
    compute.add_argument("--bits-per-value", type=int, default=None, help="bits of simple/ccsds GRIB2 packing")
    compute.add_argument("--option", action="append", default=[], metavar="PRODUCT.OPTION=VALUE")
    compute.add_argument("--threads", type=int, default=None, help="numba and decoding threads")
    compute.set_defaults(run=_compute)

    sample = commands.add_parser("sample", help="write a synthetic ICON- or COSMO-like model run as GRIB2")
    sample.add_argument("--preset", default="small", help="small (default), cosmo-small, icon-ch2, icon-ch1")
    sample.add_argument("--output", "-o", required=True, metavar="DIR")
    sample.add_argument("--members", type=_integers, default=None, metavar="0,1,2")
    sample.add_argument("--lead-times", type=_integers, default=None, metavar="0,1,2", help="hours")
    sample.add_argument("--packing", default="grid_simple", choices=("grid_simple", "grid_ccsds"))
    sample.add_argument("--bits-per-value", type=int, default=16)
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(run=_sample)

    docs = commands.add_parser("docs", help="write the products' documentation (docs/products.md) from the registry")
    docs.add_argument("--output", "-o", type=Path, default=None, metavar="FILE",
                      help="default: docs/products.md of the source checkout")
    docs.add_argument("--check", action="store_true", help="only check that the file is up to date")
    docs.set_defaults(run=_docs)

    record = commands.add_parser("provenance", help="print what produced a product file (its provenance record)")
    record.add_argument("files", nargs="+", metavar="FILE", help="product files (NetCDF, or GRIB2 with its record)")
    record.add_argument("--check", action="store_true",
                        help="check that the inputs still have their recorded digests and that the installed code "
                             "would compute the same product (exit status 1 otherwise)")
    record.add_argument("--base", type=Path, default=None, metavar="DIR",
                        help="folder the recorded relative input paths start from (default: the current one; the "
                             "workflow records them relative to its working directory)")
    record.set_defaults(run=_provenance)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        args.run(args)
    except NwpflowError as error:
        print(f"nwpflow: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
