"""Make ``data/mock_dwarf.ecsv``: a mock dwarf spheroidal with known truth.

400 Plummer stars (R_half = 250 pc, within 5 R_half) in a cusped Zhao halo
(alpha, beta, gamma) = (1, 4, 1), r_s = 1 kpc, rho_s = 10^7.8 Msun/kpc^3, with Baes-van
Hese anisotropy (beta_0 = 0, beta_inf = 0.4, r_a = 300 pc, eta = 2), v_sys = 110 km/s,
distance 80 kpc, velocity errors uniform in 1-3 km/s: every parameter inside the domain of
the shipped emulator ``zhao_bvh_plummer``. The stars come from the library's one mock
generator, through :func:`dynamicall.infer.mocks.dwarf_mock` (its defaults are this mock;
it makes the other mocks of the tests and benchmarks); this script only writes the file.

Run: ``python data/make_mock_dwarf.py [OUT]`` (default: rewrites data/mock_dwarf.ecsv;
seed 20261123).
"""

from __future__ import annotations

import pathlib
import sys

from dynamicall.infer.mocks import dwarf_mock

#: The generator's former name in this script (benchmarks/inference.py loads it by path).
mock_catalog = dwarf_mock


def main(argv=None):
    import jax

    jax.config.update("jax_enable_x64", True)  # a script: exact sigma_los in float64
    from dynamicall._durable import atomic_file

    argv = sys.argv[1:] if argv is None else argv
    path = pathlib.Path(argv[0]) if argv else pathlib.Path(__file__).resolve().parent / "mock_dwarf.ecsv"
    table = dwarf_mock()
    table.meta["made_by"] = "data/make_mock_dwarf.py"
    with atomic_file(path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    print(f"wrote {path}: {len(table)} stars")


if __name__ == "__main__":
    main()
