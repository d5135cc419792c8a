"""Train one stage of a cascade from a config: data -> (caption dropout, text embeddings, SR pairs) -> stage loss.

Stages train independently (Imagen Sec. 2.4): each writes `output_dir/stage-N/` and can run in its own process.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger

from openimagen import data
from openimagen.cascade import SampleRandom, StageConfig, TextEmbedder, build_stage_network, stage_loss
from openimagen.cascade.pretrained import load_stage_weights
from openimagen.cascade.randomness import mix_seed
from openimagen.config import ConfigError
from openimagen.data.weights import weight_summary
from openimagen.files import write_json_atomic
from openimagen.nn import load_widened
from openimagen.cascade.sampling import sample_stage, to_pil
from openimagen.train.batches import StreamBatches
from openimagen.train.config import ExperimentConfig
from openimagen.train.accelerator import make_accelerator
from openimagen.train.trainer import Trainer, TrainResult

__all__ = ["train_stage", "make_embedder", "StageLoss", "stage_dir", "initial_network", "init_from_folder"]

logger = get_logger(__name__)


def stage_dir(config: ExperimentConfig, number: int) -> Path:
    return Path(config.train.output_dir) / f"stage-{number}"


def make_embedder(config: ExperimentConfig) -> TextEmbedder:
    """Cached embeddings when `data.embedding_cache` is set; the encoder is only loaded for captions it lacks."""
    from openimagen.text import CacheError, EmbeddingCache, load_encoder
    from openimagen.text.encoder import layers_of, layers_tag, layers_tag_of

    cache = EmbeddingCache(config.data.embedding_cache) if config.data.embedding_cache else None
    cascade = config.cascade
    if cache is not None and layers_tag(cascade.text_encoder_layers) != layers_tag_of(cache.encoder_id):
        raise CacheError(f"the embedding cache {cache.out_dir} holds text encoder hidden states "
                         f"{layers_of(cache.encoder_id)}, but cascade.text_encoder_layers = "
                         f"{list(cascade.text_encoder_layers)}; re-encode with `openimagen encode ... --layers "
                         f"{','.join(map(str, cascade.text_encoder_layers))}` into a new folder")
    return TextEmbedder(lambda: load_encoder(cascade.text_encoder, max_length=cascade.max_text_length,
                                             layers=cascade.text_encoder_layers),
                        cache, max_length=cascade.max_text_length)


def noisy_text(emb: torch.Tensor, mask: torch.Tensor, scale: float, noise: torch.Tensor) -> torch.Tensor:
    """emb [b, n, d] + scale * (each real token's std) * noise; padding stays as it is. Training on nearby
    vectors makes the network read what a token means rather than its exact vector (unseen synonyms)."""
    return emb + scale * emb.std(dim=-1, keepdim=True) * noise * mask[..., None].to(emb)


class StageLoss:
    """loss_fn(model, batch) -> [b] for one stage: caption dropout p -> "" (classifier-free guidance, Sec. 2.3),
    optional noise on the text tokens, SR input = the image's own anti-aliased downsample (+ matching random
    crops), random masks for an inpainting stage, then `stage_loss`, times each example's weight if the data
    carries one (`train.example_weight` in loss mode)."""

    def __init__(self, stage: StageConfig, lowres_size: int | None, embedder: TextEmbedder, cond_drop_prob: float,
                 seed: int, group_size: int, device: torch.device, text_noise: float = 0.0) -> None:
        self.stage, self.lowres_size, self.embedder = stage, lowres_size, embedder
        self.cond_drop_prob, self.seed, self.group_size, self.device = cond_drop_prob, seed, group_size, device
        self.text_noise = text_noise

    def __call__(self, model: torch.nn.Module, batch: dict) -> torch.Tensor:
        rnd = SampleRandom(self.seed, batch["index"])
        drop = rnd.uniform() < self.cond_drop_prob
        captions = ["" if dropped else caption for caption, dropped in zip(batch["caption"], drop.tolist())]
        emb, mask = self.embedder(captions)
        if self.text_noise:
            emb = noisy_text(emb, mask, self.text_noise, rnd.normal(emb.shape[1:]).to(emb))
        images, lowres = batch["image"], None
        if self.lowres_size is not None:
            lowres = data.downsample(images, self.lowres_size)
            if self.stage.crop_size is not None and self.stage.crop_size < self.stage.resolution:
                images, lowres = data.paired_random_crop(images, lowres, self.stage.crop_size, rnd.generators)
            lowres = lowres.to(self.device)
        inpaint_mask = None
        if self.stage.task == "inpaint":
            inpaint_mask = data.random_masks(images, rnd.generators, self.stage.inpaint_masks).to(self.device)
        losses = stage_loss(model, self.stage, images.to(self.device), emb.to(self.device), mask.to(self.device),
                            rnd, lowres, self.group_size, inpaint_mask)
        return losses if "weight" not in batch else losses * batch["weight"].to(losses)


def _fixed_examples(config: ExperimentConfig, resolution: int, count: int) -> dict:
    """The first `count` samples of the source in file order: inputs of the periodic sample grids."""
    dataset = data.build_dataset(config.data.source, resolution, min_size=config.data.min_size, epochs=1,
                                 shuffle=False, seed=config.train.seed)
    images, captions = [], []
    for item in dataset:
        images.append(item["image"])
        captions.append(item["caption"])
        if len(images) == count:
            break
    return {"image": torch.stack(images), "caption": captions}


def _sample_fn(config: ExperimentConfig, number: int, embedder: TextEmbedder):
    """EMA model -> PIL images: stage 1 from `sample_prompts` (else the first data captions); SR stages from the
    first data images' low-res copies with their own captions."""
    stage, lowres_size = config.cascade.stages[number - 1], config.cascade.lowres_resolution(number)
    prompts, lowres = list(config.train.sample_prompts), None
    if lowres_size is not None or not prompts:
        examples = _fixed_examples(config, stage.resolution, len(prompts) or 4)
        prompts = examples["caption"]
        if lowres_size is not None:
            lowres = data.downsample(examples["image"], lowres_size)

    def sample(ema_model: torch.nn.Module) -> list:
        emb, mask = embedder(prompts)
        generator = torch.Generator().manual_seed(mix_seed(config.train.seed, number))
        settings = stage.sampling_defaults()
        images = sample_stage(ema_model, stage, emb, mask, lowres, generator, progress=False,
                              channels=config.cascade.channels, **settings)
        return to_pil(images)

    return sample


def init_from_folder(network: torch.nn.Module, config: ExperimentConfig, number: int) -> list[str]:
    """Load stage `number` of `train.init_from` into `network`: an inpainting stage fine-tuned from a text-to-image
    one gets its extra input channels at zero, so it starts as the stage it comes from. Returns what was widened."""
    folder = config.train.init_from
    try:
        return load_widened(network, load_stage_weights(folder, number))
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        raise ConfigError(f"train.init_from: stage {number} of {folder} cannot start this config's stage {number} "
                          f"(same network and text encoder needed): {str(error).splitlines()[0]}") from error


def initial_network(config: ExperimentConfig, number: int, text_dim: int) -> torch.nn.Module:
    """Stage `number`'s network at step 0: built under the seed (train.seed, stage), so every process starts
    alike, then loaded from `train.init_from` if set."""
    torch.manual_seed(mix_seed(config.train.seed, number))
    network = build_stage_network(config.cascade.stages[number - 1], text_dim, number > 1, config.cascade.channels)
    if config.train.init_from:
        init_from_folder(network, config, number)
    return network


def log_example_weights(weights, example_weight, run_dir: Path, accelerator: Accelerator) -> None:
    """Say how the examples are weighted, and keep it in run_dir/example_weights.json (main process)."""
    summary = {"field": example_weight.field, "mode": example_weight.mode, **weight_summary(weights)}
    logger.info(f"example weights ({example_weight.mode}) from {example_weight.field!r}: min {summary['min']:.3g}, "
                f"mean {summary['mean']:.3g}, max {summary['max']:.3g}, effective examples "
                f"{summary['effective_examples']:.1f} of {summary['count']}")
    if accelerator.is_main_process:
        write_json_atomic(run_dir / "example_weights.json", summary, indent=1)


def train_stage(config: ExperimentConfig, number: int, accelerator: Accelerator | None = None,
                embedder: TextEmbedder | None = None) -> TrainResult:
    """Train stage `number` (1-based) to `train.max_steps`, resuming from its latest checkpoint."""
    c = config.train
    accelerator = accelerator or make_accelerator(c.mixed_precision)
    stage, lowres_size = config.cascade.stages[number - 1], config.cascade.lowres_resolution(number)
    embedder = embedder or make_embedder(config)
    network = initial_network(config, number, embedder.dim)
    if c.init_from:
        logger.info(f"stage {number}: starts from {c.init_from}" +
                    (" (the mask inputs at zero)" if stage.task == "inpaint" else ""))
    micro = c.micro_batch_size or c.batch_size // accelerator.num_processes
    dataset = data.build_dataset(config.data.source, stage.resolution, random_crop=config.data.random_crop,
                                 min_size=config.data.min_size, rank=accelerator.process_index,
                                 world_size=accelerator.num_processes,
                                 seed=c.seed if config.data.shuffle_seed is None else config.data.shuffle_seed,
                                 example_weight=c.example_weight)
    if c.example_weight is not None:
        log_example_weights(dataset.example_weights, c.example_weight, stage_dir(config, number), accelerator)
    batches = StreamBatches(dataset, micro, accelerator.process_index, accelerator.num_processes,
                            config.data.num_workers)
    loss_fn = StageLoss(stage, lowres_size, embedder, c.cond_drop_prob, mix_seed(c.seed, number), c.batch_size,
                        accelerator.device, c.text_noise)
    sample_fn = _sample_fn(config, number, embedder) if c.sample_every and accelerator.is_main_process else None
    trainer = Trainer(network, loss_fn, batches, c, stage_dir(config, number), accelerator, sample_fn,
                      extra_state={"stage": number, "config": config.to_dict()})
    logger.info(f"stage {number}: {sum(p.numel() for p in network.parameters()):,} parameters, "
                f"{accelerator.num_processes} process(es) x {micro} x {trainer.accumulation} accumulation")
    result = trainer.fit()
    if len(dataset.skip_report):
        result.data_skips = dataset.skip_report.summary()
        logger.warning(f"stage {number} data: {result.data_skips}", main_process_only=False)
    return result
