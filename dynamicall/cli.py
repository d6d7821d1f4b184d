"""The ``dynamicall`` command line: ``dynamicall <command> [options]``.

Each command lives in its own module of :mod:`dynamicall.commands` and defines
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
arguments, returning an exit code). Heavy libraries are imported inside ``func`` so that
``dynamicall --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of :mod:`dynamicall.commands`."""
    parser = argparse.ArgumentParser(
        prog="dynamicall", description="Spherical Jeans models of resolved stellar systems."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``dynamicall`` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
