"""A cascade of diffusion stages: configs, stage training loss, noise-conditioning augmentation, sampling, save/load."""
