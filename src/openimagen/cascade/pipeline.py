"""The cascade as a callable pipeline: prompts -> text embeddings -> stage 1 -> stage 2 -> ... -> PIL images."""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from typing import Any, Callable

import torch
from PIL import Image
from torch import nn
from tqdm.auto import tqdm

from openimagen.cascade.config import THRESHOLDS, CascadeConfig, check_interval
from openimagen.cascade.randomness import mix_seed
from openimagen.cascade.sampling import KnownRegion, from_pil, sample_stage, to_pil
from openimagen.cascade.stage import build_stage_network
from openimagen.cascade.text_embedder import TextEmbedder, prompt_list
from openimagen.devices import check_device

__all__ = ["Cascade"]

SAMPLING_KEYS = ("sampler", "steps", "guidance_scale", "guidance_interval", "threshold", "percentile", "aug_level",
                 "gamma", "eta")
KnownFor = Callable[[int, int, int], "KnownRegion | None"]   # (stage, first output, end) -> what the edit keeps
SEED_MAX = 2**64 - 1            # torch.Generator.manual_seed takes 64-bit seeds
SETTING_RANGES = {"guidance_scale": (0.0, None), "eta": (0.0, None), "aug_level": (0.0, 1.0), "gamma": (0.0, 1.0),
                  "percentile": (0.5, 1.0)}     # as StageConfig checks them


def default_embedder(config: CascadeConfig) -> TextEmbedder:
    """Loads the cascade's text encoder on first use (never at construction)."""
    from openimagen.text import load_encoder

    return TextEmbedder(lambda: load_encoder(config.text_encoder, max_length=config.max_text_length,
                                             layers=config.text_encoder_layers))


class Cascade:
    """A frozen text encoder + an ordered list of stage networks (Imagen Fig. A.4). Call it to sample."""

    def __init__(self, config: CascadeConfig, networks: list[nn.Module], embedder: TextEmbedder | None = None) -> None:
        if not isinstance(config, CascadeConfig):
            raise TypeError(f"config must be a CascadeConfig (openimagen.config.from_dict(CascadeConfig, d) makes one "
                            f"of a dict), got {type(config).__name__}")
        if not all(isinstance(n, nn.Module) for n in networks):
            raise TypeError("networks must be torch modules, one per stage (build_stage_network makes them)")
        if embedder is not None and not callable(embedder):
            raise TypeError(f"embedder must be a TextEmbedder (or None: the config's text encoder), got "
                            f"{type(embedder).__name__}")
        if len(networks) != len(config.stages):
            raise ValueError(f"the cascade config has {len(config.stages)} stages but {len(networks)} networks")
        self.config, self.networks = config, [n.eval() for n in networks]
        self.embedder = embedder or default_embedder(config)

    @classmethod
    def from_config(cls, config: CascadeConfig, text_dim: int, embedder: TextEmbedder | None = None) -> "Cascade":
        """Freshly initialised networks (use the global torch seed for reproducibility)."""
        networks = [build_stage_network(stage, text_dim, number > 1, config.channels)
                    for number, stage in enumerate(config.stages, start=1)]
        return cls(config, networks, embedder)

    def to(self, device: str | torch.device) -> "Cascade":
        """Move the networks to `device` (they compute in float32: a dtype is refused)."""
        device = check_device(device)
        self.networks = [n.to(device) for n in self.networks]
        return self

    def save_pretrained(self, directory: str, raw_networks: list[nn.Module] | None = None,
                        dtype: torch.dtype | None = None) -> None:
        """`dtype=torch.float16` halves the files (weights are computed with in fp32 after loading)."""
        from openimagen.cascade.pretrained import save_cascade

        save_cascade(self, directory, raw_networks, dtype)

    @classmethod
    def from_pretrained(cls, directory: str, weights: str = "ema", embedder: TextEmbedder | None = None,
                        device: str | torch.device = "cpu") -> "Cascade":
        from openimagen.cascade.pretrained import load_cascade

        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be the path of a saved cascade folder (such as the shipped "
                            f"src/openimagen/models/shapes-cascade), got {type(directory).__name__}")
        return load_cascade(directory, weights, embedder, check_device(device))

    def _stage_settings(self, numbers: range, shared: dict, stage_overrides: dict | None) -> dict[int, dict]:
        """{stage: its sampling settings} for the 1-based stages `numbers`: the stage's defaults, then the keywords
        given for every stage (`shared`, None = default), then `stage_overrides[stage]`; each one checked."""
        overrides = check_stage_overrides(stage_overrides, len(self.config.stages))
        shared = {key: check_setting(key, value, key) for key, value in shared.items() if value is not None}
        settings = {}
        for number in numbers:
            settings[number] = self.config.stages[number - 1].sampling_defaults() | shared
            settings[number].update({key: check_setting(key, value, f"stage_overrides[{number}][{key!r}]")
                                     for key, value in overrides.get(number, {}).items()})
        return settings

    def _last_stage(self, stop_at_stage: int | None) -> int:
        """The last stage to run: `stop_at_stage` (1-based) checked, or the last one for None."""
        stages = len(self.config.stages)
        if stop_at_stage is None:
            return stages
        check_count("stop_at_stage", stop_at_stage)
        if stop_at_stage > stages:
            raise ValueError(f"stop_at_stage must be in 1..{stages} (the cascade's stages), got {stop_at_stage}")
        return stop_at_stage

    def _start_images(self, start_image: Any, prompts: list[str], repeat: int, start_stage: int) -> torch.Tensor:
        images = per_output(start_image, len(prompts), repeat, "start_image")
        return from_pil(images, self.config.lowres_resolution(start_stage))

    def inpaint(self, prompts: str | list[str], image: Any, mask: Any, num_images_per_prompt: int = 1,
                seed: int | None = None, method: str = "repaint", jump_length: int = 1, jump_n_sample: int = 1,
                **sampling: Any) -> list[Image.Image]:
        """Regenerate the white part of `mask` from the prompt(s), keeping the rest of `image`: see
        `openimagen.cascade.editing.inpaint` (methods "repaint", "naive", "trained") and docs/editing.md."""
        from openimagen.cascade.editing import inpaint

        return inpaint(self, prompts, image, mask, num_images_per_prompt, seed, method, jump_length, jump_n_sample,
                       **sampling)

    def outpaint(self, prompts: str | list[str], image: Any, pad: tuple[int, int, int, int],
                 num_images_per_prompt: int = 1, seed: int | None = None, method: str = "repaint",
                 **settings: Any) -> list[Image.Image]:
        """Extend `image` by `pad` = (left, top, right, bottom) pixels (the canvas scaled to the model's resolution)
        and generate the new area: see `openimagen.cascade.editing.outpaint`."""
        from openimagen.cascade.editing import outpaint

        return outpaint(self, prompts, image, pad, num_images_per_prompt, seed, method, **settings)

    def __call__(self, prompts: str | list[str], num_images_per_prompt: int = 1, seed: int | None = None,
                 guidance_scale: float | None = None, steps: int | None = None, sampler: str | None = None,
                 threshold: str | None = None, aug_level: float | None = None, gamma: float | None = None,
                 eta: float | None = None, guidance_interval: tuple | None = None,
                 stage_overrides: dict[int, dict] | None = None, start_image: Any = None, start_stage: int = 1,
                 stop_at_stage: int | None = None, max_batch_size: int = 16, return_all_stages: bool = False,
                 progress: bool = True, on_batch: Callable[[int, list[Image.Image]], None] | None = None,
                 ) -> list[Image.Image] | dict[int, list[Image.Image]]:
        """Sample the chain. Keyword settings apply to every stage (None = the stage's default; `gamma` is the
        ancestral sampler's variance interpolation, `eta` DDIM's stochasticity, `guidance_interval` the log-SNR
        (lo, hi) where guidance applies);
        `stage_overrides={2: {"steps": 10}}` sets one stage (1-based). `start_stage=k > 1` super-resolves
        `start_image` (PIL image(s)) from stage k on; `stop_at_stage` ends early. Returns a flat prompt-major list
        of PIL images of the last stage run, or {stage: images} for every stage run if `return_all_stages`.
        `on_batch(first_index, images)` is called with the last stage's images of each batch as soon as they are done
        (e.g. to save them, so an interrupted long run keeps its finished images)."""
        prompts = prompt_list(prompts)
        check_on_batch(on_batch)
        check_count("num_images_per_prompt", num_images_per_prompt)
        check_count("max_batch_size", max_batch_size)
        check_seed(seed)
        last = self._last_stage(stop_at_stage)
        check_count("start_stage", start_stage)
        if start_stage > last:
            raise ValueError(f"need 1 <= start_stage ({start_stage}) <= stop_at_stage ({last}) <= "
                             f"{len(self.config.stages)} stages")
        if (start_stage > 1) != (start_image is not None):
            raise ValueError("start_image is needed exactly when start_stage > 1 (it is the input of that stage)")
        shared = dict(guidance_scale=guidance_scale, steps=steps, sampler=sampler, threshold=threshold,
                      aug_level=aug_level, gamma=gamma, eta=eta, guidance_interval=guidance_interval)
        settings = self._stage_settings(range(start_stage, last + 1), shared, stage_overrides)
        expanded = [p for p in prompts for _ in range(num_images_per_prompt)]
        lowres_all = None if start_stage == 1 else self._start_images(start_image, prompts, num_images_per_prompt,
                                                                       start_stage)
        outputs = self._sample_chain(expanded, settings, new_seed() if seed is None else seed, lowres_all,
                                     max_batch_size, progress, on_batch)
        return outputs if return_all_stages else outputs[last]

    def _sample_chain(self, expanded: list[str], settings: dict[int, dict], seed: int, lowres_all: torch.Tensor | None,
                      max_batch_size: int, progress: bool, on_batch: Callable | None,
                      known: KnownFor | None = None) -> dict[int, list[Image.Image]]:
        """The stages of `settings` for every prompt of `expanded`, in batches; `known(stage, start, end)` gives
        what an edit keeps of outputs start:end at that stage (then the stage's output is its composite)."""
        last = max(settings)
        outputs: dict[int, list[Image.Image]] = {n: [] for n in settings}
        for start in range(0, len(expanded), max_batch_size):
            chunk = expanded[start:start + max_batch_size]
            emb, mask = self.embedder(chunk)
            self._check_text_width(emb.shape[-1], settings)
            generator = torch.Generator().manual_seed(mix_seed(seed, start))
            lowres = None if lowres_all is None else lowres_all[start:start + max_batch_size]
            for number in tqdm(settings, desc="stages", disable=not progress, leave=False):
                stage = self.config.stages[number - 1]
                region = None if known is None else known(number, start, start + len(chunk))
                lowres = sample_stage(self.networks[number - 1], stage, emb, mask, lowres, generator,
                                      channels=self.config.channels, progress=progress, known=region,
                                      **settings[number])
                if region is not None:
                    lowres = torch.where(region.mask.to(lowres.device) > 0.5, lowres, region.image.to(lowres))
                outputs[number].extend(to_pil(lowres))
            if on_batch is not None:
                on_batch(start, outputs[last][start:])
        return outputs


    def _check_text_width(self, width: int, numbers: Any) -> None:
        """The embedder's token width fits every stage to run (another encoder's would fail deep in a network)."""
        for number in numbers:
            reads = self.networks[number - 1].config.text_dim
            if self.config.stages[number - 1].text_dim(width) != reads:
                raise ValueError(f"the embedder gives {width}-wide text tokens but stage {number}'s network reads "
                                 f"{reads}-wide ones: pass an embedder of the cascade's text encoder "
                                 f"({self.config.text_encoder or 'the default MiniLM'}), or none")


def new_seed() -> int:
    return int(torch.randint(2**62, ()).item())


def check_count(name: str, value: Any) -> None:
    """An integer >= 1 (not a bool or a float), else a TypeError / ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")


def check_on_batch(on_batch: Any) -> None:
    if on_batch is not None and not callable(on_batch):
        raise TypeError(f"on_batch must be a function (first_index, images) or None, got {type(on_batch).__name__}")


def check_seed(seed: Any) -> None:
    """None (a random seed) or an integer in 0..2^64-1, as the command line takes."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an integer in 0..2^64-1 or None (a random seed), got {seed!r}")
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed must be in 0..2^64-1, got {seed}")


def check_setting(key: str, value: Any, name: str) -> Any:
    """One sampling keyword (of SAMPLING_KEYS) as a caller gave it -> its value; `name` says where it was given."""
    from openimagen.diffusion import resolve_sampler

    if key == "guidance_interval":
        return check_interval(value)
    if key == "steps":
        check_count(name, value)
    elif key == "sampler":
        try:
            return resolve_sampler(value)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    elif key == "threshold":
        if value not in THRESHOLDS:
            raise ValueError(f"{name} must be one of {list(THRESHOLDS)}, got {value!r}")
    else:
        low, high = SETTING_RANGES[key]
        bounds = f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name} must be a number {bounds}, got {value!r}")
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise ValueError(f"{name} must be a finite number {bounds}, got {value}")
    return value


def check_stage_overrides(overrides: Any, stages: int) -> dict[int, dict]:
    """`stage_overrides` = {stage number 1..stages: {sampling keyword: value}} (None = {}); unknown keys refused."""
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise TypeError(f"stage_overrides must be a dict {{stage number: {{keyword: value}}}}, got "
                        f"{type(overrides).__name__}")
    for number, extra in overrides.items():
        if isinstance(number, bool) or not isinstance(number, Integral) or not 1 <= number <= stages:
            raise ValueError(f"stage_overrides: stage numbers are 1..{stages} (1-based), got {number!r}")
        if not isinstance(extra, dict):
            raise TypeError(f"stage_overrides[{number}] must be a dict of sampling keywords, got "
                            f"{type(extra).__name__}")
        unknown = sorted(set(extra) - set(SAMPLING_KEYS))
        if unknown:
            raise ValueError(f"stage_overrides[{number}] has unknown key(s) {unknown}; valid: {list(SAMPLING_KEYS)}")
    return overrides


def per_output(items: Any, prompts: int, repeat: int, what: str) -> list:
    """One PIL image (or a list of 1, one per prompt or one per output) -> one per output, prompt-major."""
    if isinstance(items, Image.Image):
        items = [items]
    elif not isinstance(items, (list, tuple)) or not all(isinstance(item, Image.Image) for item in items):
        got = type(items).__name__ if not isinstance(items, (list, tuple)) else \
            f"a list item of type {next(type(i).__name__ for i in items if not isinstance(i, Image.Image))}"
        raise TypeError(f"{what} must be a PIL image or a list of PIL images, got {got} (read a file with "
                        "PIL.Image.open; convert a uint8 [h, w, 3] array with PIL.Image.fromarray, [b, 3, h, w] "
                        "tensors in [-1, 1] with openimagen.cascade.sampling.to_pil)")
    items = list(items)
    if len(items) == prompts:
        return [item for item in items for _ in range(repeat)]
    if len(items) == 1:
        return items * prompts * repeat
    if len(items) != prompts * repeat:
        raise ValueError(f"{what}: give 1 image, one per prompt ({prompts}) or one per output ({prompts * repeat}); "
                         f"got {len(items)}")
    return items
