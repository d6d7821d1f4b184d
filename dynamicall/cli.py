"""The ``dynamicall`` command line: ``dynamicall <command> [options]``.

Each command lives in its own module of :mod:`dynamicall.commands` and defines
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
arguments, returning an exit code). Heavy libraries are imported inside ``func`` so that
``dynamicall --help`` stays fast.

Errors are handled here, once, for every command: a user's mistake (the library raises
``ValueError``, ``FileNotFoundError``, :class:`~dynamicall._durable.OutputExistsError`,
another ``OSError`` or a missing optional ``ImportError``) is printed as one line,
``dynamicall <command>: error: <what is wrong and how to fix it>``, and the exit status is
2; ``--debug`` (or ``DYNAMICALL_DEBUG=1``) shows the traceback instead. Python warnings are
printed as one line each, ``dynamicall <command>: warning: <message>``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
import warnings

from . import commands

#: Exit status of a user error (as argparse uses for a bad command line).
USER_ERROR = 2
#: Exceptions that mean "the input or the environment is wrong", not "the code is wrong".
USER_ERRORS = (ValueError, OSError, ImportError)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of :mod:`dynamicall.commands`."""
    parser = argparse.ArgumentParser(
        prog="dynamicall", description="Spherical Jeans models of resolved stellar systems."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # shared helpers, not commands
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show the traceback of an error")
    return parser


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (what a user reads), without Python's framing.

    Example
    -------
    >>> one_line(ValueError("bad value\\n  use a positive number"))
    'bad value use a positive number'
    """
    if isinstance(err, OSError) and err.strerror and err.filename:  # "[Errno 2] ..." -> words
        return f"{err.strerror.lower()}: '{err.filename}' (check the path)"
    text = " ".join(str(err).split())
    if isinstance(err, KeyError) or not text:
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text


@contextlib.contextmanager
def _short_warnings(command: str):
    """Print warnings as ``dynamicall COMMAND: warning: message`` (one line each)."""
    old = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"dynamicall {command}: warning: {one_line(message) if isinstance(message, Warning) else message}",
              file=sys.stderr if file is None else file)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = old


def main(argv=None) -> int:
    """Entry point of the ``dynamicall`` command; returns the exit status.

    0: success; 1: the command ran but its check failed (e.g. ``validate`` floors not met);
    2: a user error (one line on stderr, no traceback unless ``--debug``); 130: interrupted.
    """
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get("DYNAMICALL_DEBUG", "") not in ("", "0")
    name = args.command
    try:
        if debug:
            return int(args.func(args) or 0)
        with _short_warnings(name):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as err:  # commands may raise SystemExit("message")
        if isinstance(err.code, str):
            if debug:
                raise
            print(f"dynamicall {name}: error: {one_line(err.code)}", file=sys.stderr)
            return USER_ERROR
        raise
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"dynamicall {name}: error: {one_line(err)} (--debug shows the traceback)", file=sys.stderr)
        return USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
