"""A cascade of diffusion stages (Imagen Sec. 2.4-2.5): configs, the stage training loss with noise-conditioning
augmentation, sampling the chain, save/load."""

from openimagen.cascade.config import CascadeConfig, StageConfig
from openimagen.cascade.noise_augmentation import noise_augment
from openimagen.cascade.pipeline import Cascade
from openimagen.cascade.randomness import SampleRandom
from openimagen.cascade.stage import build_stage_network, stage_loss
from openimagen.cascade.text_embedder import TextEmbedder

__all__ = ["Cascade", "CascadeConfig", "StageConfig", "SampleRandom", "TextEmbedder", "build_stage_network",
           "noise_augment", "stage_loss"]
