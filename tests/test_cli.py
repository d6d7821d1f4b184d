"""The command line: every command module is registered, errors are handled once, centrally."""

import pkgutil
import subprocess
import sys

import pytest

from dynamicall import commands
from dynamicall.cli import USER_ERROR, build_parser, main, one_line

# a module fit_population.py is the command fit-population
COMMANDS = sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(commands.__path__)
                  if not m.name.startswith("_"))


def test_every_command_module_is_a_command_with_help():
    """Each module of dynamicall.commands (not the _-prefixed helpers) is a subcommand
    of the same name, listed in the help with its one-line description, and takes --debug."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == COMMANDS
    assert {"demo", "fit", "forecast", "generate", "mock", "train", "validate"} <= set(COMMANDS)
    text = parser.format_help()
    for action in sub._choices_actions:
        assert action.help and action.help.split()[0] in text
    for name, command in sub.choices.items():
        assert "--debug" in command.format_help(), name


@pytest.mark.slow
def test_demo_runs(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Plummer" in out and "NFW" in out


def test_entry_point_module():
    done = subprocess.run([sys.executable, "-m", "dynamicall", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: dynamicall" in done.stdout


def _command_raising(monkeypatch, exc):
    import dynamicall.commands.demo as demo

    def boom(args):
        raise exc

    monkeypatch.setattr(demo, "run", boom)


@pytest.mark.parametrize("exc, shown", [
    (ValueError("n_bins must be >= 1;\n  got 0"), "dynamicall demo: error: n_bins must be >= 1; got 0"),
    (FileNotFoundError(2, "No such file or directory", "x.ecsv"),
     "dynamicall demo: error: no such file or directory: 'x.ecsv' (check the path)"),
    (SystemExit("give a truth for ['a']"), "dynamicall demo: error: give a truth for ['a']"),
    (ImportError("plots need matplotlib: pip install matplotlib"),
     "dynamicall demo: error: plots need matplotlib: pip install matplotlib"),
])
def test_user_errors_are_one_line_with_status_2(exc, shown, monkeypatch, capsys):
    _command_raising(monkeypatch, exc)
    assert main(["demo"]) == USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith(shown) and err.count("\n") == 1 and "Traceback" not in err


def test_a_bug_is_not_disguised_as_a_user_error(monkeypatch):
    """Errors that are not the user's (a KeyError, a TypeError) keep their traceback."""
    _command_raising(monkeypatch, KeyError("alpha"))
    with pytest.raises(KeyError):
        main(["demo"])


def test_debug_reraises(monkeypatch):
    _command_raising(monkeypatch, ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        main(["demo", "--debug"])
    monkeypatch.setenv("DYNAMICALL_DEBUG", "1")
    with pytest.raises(ValueError, match="bad"):
        main(["demo"])


def test_warnings_are_one_line(monkeypatch, capsys):
    import warnings

    import dynamicall.commands.demo as demo

    def warn(args):
        warnings.warn("3 of 60 radii lie outside the emulator's range", UserWarning)
        return 0

    monkeypatch.setattr(demo, "run", warn)
    assert main(["demo"]) == 0
    err = capsys.readouterr().err
    assert err == "dynamicall demo: warning: 3 of 60 radii lie outside the emulator's range\n"


def test_one_line_keeps_the_message():
    assert one_line(ValueError("a\n b")) == "a b"
    assert one_line(KeyError("alpha")) == "KeyError: 'alpha'"
