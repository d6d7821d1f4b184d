"""The ``dynamicall`` command line: ``dynamicall <command> [options]``.

Commands register themselves in :data:`COMMANDS`; heavy modules are imported only when
their command runs, so ``dynamicall --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import profile_table

    print(profile_table(enable_x64=not args.float32))
    return 0


def _add_demo(sub):
    p = sub.add_parser("demo", help="print a table of profile quantities (quick check)")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.set_defaults(func=_demo)


#: Subcommand builders: each adds its parser and sets ``func``.
COMMANDS = [_add_demo]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="dynamicall", description="Spherical Jeans models of resolved stellar systems."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``dynamicall`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
