"""What the docs' figure scripts share: matplotlib without a display, saving a figure,
and the command line ``python docs/figures/NAME.py [PATH]`` (default: NAME.png beside the
script)."""

from __future__ import annotations

import pathlib
import sys


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, dpi: int = 110) -> pathlib.Path:
    """Lay out, write and close ``fig``; returns the path written."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return pathlib.Path(path)


def main(make_figure, script: str) -> None:
    """Run ``make_figure`` on the command line's path, or on ``script`` with ``.png``."""
    default = pathlib.Path(script).with_suffix(".png")
    print(make_figure(sys.argv[1] if len(sys.argv) > 1 else default))
