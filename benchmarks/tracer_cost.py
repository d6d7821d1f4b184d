"""Cost of the light-defined tracers in the exact Jeans engine, side by side with a
Plummer tracer: value + gradient of sum(sigma_los) at 32 radii in an NFW halo with
constant beta, per call after compilation (medians), default and fast configurations.

Run: ``python benchmarks/tracer_cost.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from timing import median_time


def main():
    jax.config.update("jax_enable_x64", True)
    from dynamicall.anisotropy import Constant
    from dynamicall.jeans import JeansConfig, sigma_los
    from dynamicall.profiles import NFW, King, Plummer, Sersic

    R = np.geomspace(0.02, 1.0, 32)
    tracers = {
        "Plummer": lambda x: Plummer(m_tot=1.0, r_s=0.3),
        "Sersic n=2, fixed": lambda x: Sersic(m_tot=1.0, R_e=0.3, n=2.0),
        "Sersic, n and R_e free": lambda x: Sersic(m_tot=1.0, R_e=x[3], n=x[4]),
        "King r_t/r_c=30, fixed": lambda x: King(m_tot=1.0, r_c=0.05, r_t=1.5),
    }
    x0 = jnp.array([8.0, 0.5, 0.1, 0.3, 2.0])
    print(f"{'tracer':<26}{'config':<9}{'value+grad (ms)':>16}{'vs Plummer':>12}")
    for config_name, config in (("default", JeansConfig()), ("fast", JeansConfig.fast())):
        base = None
        for name, make in tracers.items():
            def loss(x, make=make):
                halo = NFW(rho_s=10 ** x[0], r_s=x[1])
                return jnp.sum(sigma_los(R, make(x), halo, Constant(beta=x[2]), config=config))

            t = median_time(jax.jit(jax.value_and_grad(loss)), x0, repeat=7, number=3)
            base = base or t
            print(f"{name:<26}{config_name:<9}{t * 1e3:>16.3f}{t / base:>12.1f}")


if __name__ == "__main__":
    main()
