"""A short demonstration: a table of profile quantities for typical dwarf-galaxy models."""

from __future__ import annotations


def profile_table(enable_x64: bool = True) -> str:
    """Half-mass radii, masses and circular velocities of a few profiles, as text.

    Parameters
    ----------
    enable_x64 : bool
        Compute in float64 (switches JAX's x64 mode on for this process).

    Returns
    -------
    str
        A fixed-width table, one row per profile.

    Example
    -------
    >>> print(profile_table().splitlines()[0])  # doctest: +ELLIPSIS
    profile ...
    """
    import jax

    if enable_x64:
        jax.config.update("jax_enable_x64", True)
    from .profiles import NFW, Burkert, CoreNFW, Dehnen, Einasto, Hernquist, Plummer, Zhao

    models = {
        "Plummer(1e6 Msun, 0.25 kpc)": Plummer(m_tot=1e6, r_s=0.25),
        "Hernquist(1e6 Msun, 0.25 kpc)": Hernquist(m_tot=1e6, r_s=0.25),
        "Dehnen(1e6 Msun, 0.25 kpc, 0.5)": Dehnen(m_tot=1e6, r_s=0.25, gamma=0.5),
        "NFW(M200=1e9, c=15)": NFW.from_m200_c(1e9, 15.0),
        "Zhao(1e7, 1 kpc, 2, 5, 0.5)": Zhao(rho_s=1e7, r_s=1.0, alpha=2.0, beta=5.0, gamma=0.5),
        "Einasto(1e7, 1 kpc, 0.17)": Einasto(rho_s=1e7, r_s=1.0, alpha=0.17),
        "Burkert(1e8, 0.5 kpc)": Burkert(rho_s=1e8, r_s=0.5),
        "CoreNFW(1e7, 1 kpc, 0.3 kpc, 1)": CoreNFW(rho_s=1e7, r_s=1.0, r_c=0.3, n=1.0),
    }
    header = f"{'profile':34s} {'M(<0.5 kpc)':>12s} {'v_c(0.5)':>9s} {'Sigma(0.1)':>11s} {'r_half':>8s} {'R_half':>8s}"
    lines = [header, f"{'':34s} {'[Msun]':>12s} {'[km/s]':>9s} {'[Msun/kpc2]':>11s} {'[kpc]':>8s} {'[kpc]':>8s}"]
    for name, p in models.items():
        finite = p.has_finite_mass()
        r_half = f"{float(p.half_mass_radius()):8.4f}" if finite else f"{'inf':>8s}"
        R_half = f"{float(p.half_light_radius()):8.4f}" if finite else f"{'inf':>8s}"
        lines.append(
            f"{name:34s} {float(p.mass(0.5)):12.4e} {float(p.circular_velocity(0.5)):9.3f} "
            f"{float(p.surface_density(0.1)):11.4e} {r_half} {R_half}"
        )
    return "\n".join(lines)
