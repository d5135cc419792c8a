"""Continuous-time Gaussian diffusion (Imagen App. A): schedules, forward process, parameterizations, loss,
classifier-free guidance, thresholding, samplers and RePaint inpainting. Pure functions of tensors; networks live
in `openimagen.nn`."""

from openimagen.diffusion.guidance import Denoiser, Interval, guided_denoiser
from openimagen.diffusion.inpainting import repaint_sample, repaint_schedule, replace_known
from openimagen.diffusion.loss import DiffusionConfig, diffusion_loss, loss_weight, sample_times
from openimagen.diffusion.parameterization import (
    PREDICTIONS, prediction_to_eps, prediction_to_x0, training_target, x0_to_eps,
)
from openimagen.diffusion.process import alpha_sigma, broadcast_like, q_posterior, q_sample, q_transition
from openimagen.diffusion.samplers import (SAMPLER_ALIASES, SAMPLERS, ancestral_step, ddim_step, dpmpp_2m_step,
                                          resolve_sampler, sample, sampler_choices, time_grid)
from openimagen.diffusion.self_conditioning import PreviousEstimate, first_pass_estimate
from openimagen.diffusion.schedules import CosineSchedule, LinearSchedule, Schedule, get_schedule
from openimagen.diffusion.thresholding import dynamic_threshold, get_threshold, static_threshold

__all__ = [
    "Denoiser", "Interval", "guided_denoiser", "repaint_sample", "repaint_schedule", "replace_known", "DiffusionConfig", "diffusion_loss", "loss_weight", "sample_times",
    "PREDICTIONS", "prediction_to_eps", "prediction_to_x0", "training_target", "x0_to_eps",
    "alpha_sigma", "broadcast_like", "q_posterior", "q_sample", "q_transition",
    "SAMPLERS", "SAMPLER_ALIASES", "resolve_sampler", "sampler_choices",
    "ancestral_step", "ddim_step", "dpmpp_2m_step", "sample", "time_grid",
    "PreviousEstimate", "first_pass_estimate",
    "CosineSchedule", "LinearSchedule", "Schedule", "get_schedule",
    "dynamic_threshold", "get_threshold", "static_threshold",
]
