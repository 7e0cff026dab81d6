"""Command line: ``nwpflow products | compute | sample | docs | provenance``.

Every failure a user can cause (input, config, options, output location, disk space, permissions) ends in
one line on standard error, ``nwpflow: error: <what and what to do>``, and exit status 1
(:func:`nwpflow.errors.one_line`); ``--verbose`` adds the traceback. Anything else is a bug: its
traceback is printed as Python prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path

from nwpflow.errors import NwpflowError, OptionError, one_line


def _products(args: argparse.Namespace) -> None:
    from nwpflow.products import registry

    rows = [(p.name, p.units, " ".join(p.inputs), p.description) for p in registry.values()]
    header = ("product", "units", "inputs", "description")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3])


def _parse_options(items: list[str]) -> dict[str, dict]:
    """``--option PRODUCT.OPTION=VALUE`` items as ``{product: {option: value}}``, each value read as its
    option's type (``Option.parse``: YAML, numbers in any spelling) and checked later with the request."""
    from nwpflow.products import registry

    options: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        product, dot, option = key.partition(".")
        if not sep or not dot:
            raise NwpflowError(f"--option {item!r}: write PRODUCT.OPTION=VALUE")
        accepted = registry[product].options
        if option not in accepted:
            raise OptionError(f"--option {item!r}: product {product!r} has no option {option!r} (accepted: "
                              f"{', '.join(sorted(accepted)) or 'none'})")
        options.setdefault(product, {})[option] = accepted[option].parse(value)
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
                               formats=formats, grib2=grib2, members=args.members, lead_times=args.lead_times,
                               invalid_values=args.invalid_values)
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
    from nwpflow.io.checks import INVALID_VALUES

    main = argparse.ArgumentParser(prog="nwpflow", description="Post-process NWP model output.")
    main.add_argument("--version", action="version", version=f"nwpflow {__version__}")
    main.add_argument("-v", "--verbose", action="store_true",
                      help="log progress to stderr, and the traceback of an error")
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
    compute.add_argument("--members", type=_integers, default=None, metavar="0,1,2",
                         help="the members the inputs must hold (only these are computed)")
    compute.add_argument("--lead-times", type=_integers, default=None, metavar="0,1,2",
                         help="the lead times [h] the inputs must hold (only these are computed)")
    compute.add_argument("--invalid-values", default="error", choices=INVALID_VALUES,
                         help="input values outside their field's physical range, or not finite: error (default), "
                              "missing (treat as missing: NaN) or ignore (keep them)")
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
    """Run the command line; return the exit status (0, 1 for an error a user can fix, 130 interrupted)."""
    args = parser().parse_args(argv)
    with _library_output_held() as held:
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
        try:
            args.run(args)
        except BaseException as error:  # noqa: BLE001 - a user's error is one line; a bug is re-raised
            line = one_line(error)
            if line is None or isinstance(error, SystemExit):
                held.show()
                raise
            if args.verbose:
                held.show()
                traceback.print_exc()
            print(line, file=sys.stderr)
            return 130 if isinstance(error, KeyboardInterrupt) else 1
        held.show()
    return 0


class _Held:
    """What C libraries wrote to descriptor 2 while a command ran (:func:`_library_output_held`)."""

    def __init__(self, file=None):
        self.file = file

    def show(self) -> None:
        """Write it to standard error, once."""
        if self.file is None:
            return
        sys.stderr.flush()
        self.file.seek(0)
        sys.stderr.write(self.file.read().decode(errors="replace"))
        sys.stderr.flush()
        self.file.close()
        self.file = None


@contextlib.contextmanager
def _library_output_held():
    """Hold what C libraries write straight to descriptor 2 while a command runs (ecCodes prints "ECCODES
    WARNING: Date is not valid" for a corrupt message before the reader refuses it with an error naming the
    file and the message): ``show()`` writes it out, after a success or with ``--verbose``, so that a failure
    ends in its one line. Python's own output (logging, warnings) goes to standard error as it happens.
    Nothing is held where standard error has no descriptor (e.g. under pytest's capture)."""
    try:
        sys.stderr.flush()
        if sys.stderr.fileno() != 2:
            raise OSError
    except (AttributeError, OSError, ValueError):
        yield _Held()
        return
    held = _Held(tempfile.TemporaryFile())
    terminal = os.dup(2)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding,
                           errors=python_stderr.errors)
    os.dup2(held.file.fileno(), 2)
    try:
        yield held
    finally:
        os.dup2(terminal, 2)
        os.close(terminal)
        sys.stderr.flush()  # left open: logging's handler writes to it until the process ends
        sys.stderr = python_stderr
        if held.file is not None:
            held.file.close()


if __name__ == "__main__":
    sys.exit(main())
