"""Inference: numpyro models with a swappable forward model, NUTS fits, Fisher forecasts.

======================================  ==================================================
object                                  what it does
======================================  ==================================================
:class:`ModelSpec`                      tracer, halo, anisotropy with priors + the forward
                                        model (``forward="exact"`` or an emulator)
:class:`KinematicModel`                 a spec bound to data: the numpyro model (Gaussian,
                                        contamination mixture, binned; proper motions)
:func:`optimize`                        posterior mode (optax, several starts) and Laplace
                                        covariance, in the space NUTS samples
:func:`sample`                          NUTS on a model: Laplace start, progress,
                                        checkpoints, resume, convergence verdict
:func:`fit`                             spec + model + sample in one call
:class:`PopulationModel`,               hierarchical model of N catalogues (pooled halo
:func:`fit_population`                  sites, hyperparameters), one batched forward call
:class:`FitResult`                      draws, statistics, ``summary()``, ``save(dir)``
:func:`write_outputs`                   summary.json, samples.h5 (+ ArviZ), plots
:func:`fisher_matrix`                   expected Fisher information of a survey design
:class:`SurveyDesign`                   stars: number, radial distribution, errors
:func:`prior_precision`,                 the information the fit's priors carry (forecasts
:func:`stars_for_target`                 include it by default); stars for a target error
:func:`crlb`, :func:`crlb_uncertainties`,  Cramer-Rao bounds, 1 sigma errors, draws
:func:`crlb_error_samples`
======================================  ==================================================

Nothing here changes global state: choose float64 yourself with
``jax.config.update("jax_enable_x64", True)`` (the command line does, and says so).
"""

from .derived import DERIVED, derived_quantities, derived_values
from .fisher import (
    FisherMatrix,
    crlb,
    crlb_error_samples,
    crlb_uncertainties,
    derived_uncertainties,
    expected_log_likelihood,
    fisher_matrix,
    forecast,
    prior_curvature,
    prior_precision,
    prior_standard_deviations,
    stars_for_target,
)
from .forward import EmulatorForward, ExactForward, resolve_forward
from .models import KinematicModel
from .optimize import OptimizeResult, optimize
from .outputs import format_summary, load_samples, summarize, to_inference_data, write_outputs
from .population import PopulationModel, fit_population
from .run import FitResult, fit, sample
from .spec import ModelSpec
from .survey import SurveyDesign

__all__ = [
    "DERIVED",
    "EmulatorForward",
    "ExactForward",
    "FisherMatrix",
    "FitResult",
    "KinematicModel",
    "ModelSpec",
    "OptimizeResult",
    "PopulationModel",
    "SurveyDesign",
    "crlb",
    "crlb_error_samples",
    "crlb_uncertainties",
    "derived_quantities",
    "derived_uncertainties",
    "derived_values",
    "expected_log_likelihood",
    "fisher_matrix",
    "fit",
    "fit_population",
    "forecast",
    "format_summary",
    "load_samples",
    "optimize",
    "prior_curvature",
    "prior_precision",
    "prior_standard_deviations",
    "resolve_forward",
    "sample",
    "stars_for_target",
    "summarize",
    "to_inference_data",
    "write_outputs",
]
