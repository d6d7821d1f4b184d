"""The command line dispatches to every registered command."""

import subprocess
import sys

from dynamicall.cli import build_parser, main


def test_help_lists_commands():
    text = build_parser().format_help()
    assert "demo" in text


def test_demo_runs(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Plummer" in out and "NFW" in out


def test_entry_point_module():
    done = subprocess.run([sys.executable, "-m", "dynamicall", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "usage: dynamicall" in done.stdout
