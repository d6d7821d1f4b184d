r"""Log-likelihoods of stellar kinematics given model dispersions (pure JAX functions).

Per star i with velocity :math:`v_i`, error :math:`\epsilon_i` and model dispersion
:math:`\sigma_i = \sigma_{los}(R_i)`:

* unbinned Gaussian (the default), free systemic velocity :math:`v_{sys}`:
  :math:`\ln L_i = \ln N(v_i \mid v_{sys}, \sigma_i^2 + \epsilon_i^2)`;
* two-component mixture with a contaminant population :math:`N(\mu_c, s_c^2)` and member
  fraction :math:`f`, membership marginalised:
  :math:`\ln L_i = \ln[f N(v_i \mid v_{sys}, \sigma_i^2 + \epsilon_i^2) + (1 - f) N(v_i \mid
  \mu_c, s_c^2 + \epsilon_i^2)]`, and the membership probability of star i is the first
  term over the sum;
* proper motions (mas/yr, relative to the systemic proper motion), at distance d:
  :math:`\ln N(\mu_{R,i} \mid 0, (\sigma_{pm,R}/(4.74 d))^2 + \epsilon_{R,i}^2)` and the
  same for the tangential component;
* binned dispersions: :math:`\ln N(\hat\sigma_b \mid \sigma_{los}(R_b), \delta_b^2)`.

Example
-------
>>> import jax.numpy as jnp
>>> float(gaussian_los(jnp.array([0.0]), jnp.array([0.0]), 0.0, jnp.array([1.0]))[0])  # ln N(0|0,1)
-0.9189385332046727
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from ..units import KMS_PER_KPC_MASYR

LOG_2PI = math.log(2.0 * math.pi)


def normal_logpdf(x, mean, variance):
    """ln N(x | mean, variance), elementwise."""
    return -0.5 * (LOG_2PI + jnp.log(variance) + (x - mean) ** 2 / variance)


def gaussian_summed(counts, sums, variance):
    """ln L of ``counts`` stars per node with zero-mean Gaussian velocities of ``variance``
    whose squares sum to ``sums``: sum_j [-1/2 n_j ln 2 pi C_j - 1/2 S_j / C_j] (the
    Gaussian likelihood through its sufficient statistics; expected or simulated data
    sets of a survey design, :mod:`dynamicall.infer.posterior_forecast`)."""
    return jnp.sum(-0.5 * counts * (LOG_2PI + jnp.log(variance)) - 0.5 * sums / variance)


def gaussian_los(v, v_err, v_sys, sigma):
    """Per-star ln N(v | v_sys, sigma^2 + v_err^2); all in km/s."""
    return normal_logpdf(v, v_sys, sigma**2 + v_err**2)


def proper_motion(pm, pm_err, sigma_kms, distance):
    """Per-star ln N(pm | 0, (sigma / (4.74 d))^2 + pm_err^2).

    Parameters
    ----------
    pm, pm_err : array
        Proper motion relative to the systemic one and its error, mas/yr.
    sigma_kms : array
        Model plane-of-sky dispersion, km/s.
    distance : float
        Distance, kpc.
    """
    sigma_pm = sigma_kms / (KMS_PER_KPC_MASYR * distance)
    return normal_logpdf(pm, 0.0, sigma_pm**2 + pm_err**2)


def mixture_los(member_terms, v, v_err, member_fraction, contaminant_mean, contaminant_sigma):
    """Per-star mixture log-likelihood and membership probability.

    Parameters
    ----------
    member_terms : array
        Per-star log-likelihood of the member model (e.g. :func:`gaussian_los`).
    v, v_err : array
        Velocities and errors, km/s.
    member_fraction : float
        Fraction of members, in (0, 1).
    contaminant_mean, contaminant_sigma : float
        Mean and dispersion of the contaminant velocities, km/s.

    Returns
    -------
    (terms, membership) : per-star log-likelihood and membership probability.
    """
    contaminant = normal_logpdf(v, contaminant_mean, contaminant_sigma**2 + v_err**2)
    log_m = jnp.log(member_fraction) + member_terms
    log_c = jnp.log1p(-member_fraction) + contaminant
    total = jnp.logaddexp(log_m, log_c)
    return total, jnp.exp(log_m - total)


def binned(sigma_obs, sigma_err, sigma_model):
    """Per-bin ln N(sigma_obs | sigma_model, sigma_err^2); km/s."""
    return normal_logpdf(sigma_obs, sigma_model, sigma_err**2)
