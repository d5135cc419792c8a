"""Network inputs: checks, low-res concatenation and the conditioning vector (Imagen Sec. 2.4-2.5)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import TextPooling
from .text_adapter import TextAdapter
from .layers import NoiseLevelEmbedding, pixel_centres

NO_AUG_LOG_SNR = 30.0   # aug_log_snr=None means "no noise augmentation" (a clean low-res image)


def coordinate_maps(x: torch.Tensor) -> torch.Tensor:
    """[b, 2, h, w]: each pixel centre's x and y in [-1, 1] (left/top = -1), so convolutions and attention know
    where they are in the image without inferring it from zero padding (CoordConv, Liu et al. 2018)."""
    b, _, h, w = x.shape
    ys, xs = pixel_centres(h, x.device, x.dtype), pixel_centres(w, x.device, x.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y]).expand(b, 2, h, w)


class Conditioning(nn.Module):
    """Builds the network input and the conditioning vector.

    input = concat(x, upsample(lowres) for SR stages, x/y coordinate maps if `coord_channels`, the previous x0
    estimate if `self_condition` (zeros when there is none), the masked image and the mask if `inpaint_cond`: last,
    so a network gains them by appending zero input-conv weights);
    emb = MLP(sin(log_snr)) [+ MLP(sin(aug_log_snr))] + pool(text).
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        features = max(32, config.base_channels)
        self.noise_embed = NoiseLevelEmbedding(features, config.cond_width)
        self.aug_embed = NoiseLevelEmbedding(features, config.cond_width) if config.lowres_cond else None
        self.text_pool = TextPooling(config.text_features, config.cond_width, config.head_dim)
        self.text_adapter = TextAdapter(config.text_dim, config.text_width, config.text_layers, config.head_dim,
                                        config.text_residual) if config.text_layers else None

    def input_channels(self) -> int:
        c = self.config
        return c.in_channels * (1 + c.lowres_cond + c.self_condition) + 2 * c.coord_channels + self.inpaint_channels()

    def inpaint_channels(self) -> int:
        """Input channels of the inpainting conditioning: the masked image and the mask (0 without it)."""
        return self.config.in_channels + 1 if self.config.inpaint_cond else 0

    def forward(self, x, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None, inpaint=None, self_cond=None):
        """-> (network input [b, c(*2)(+2)(+c)(+c+1), h, w], conditioning vector [b, cond_dim], text tokens, text
        mask): the tokens are the adapter's when the network has one, else the encoder's. `inpaint` [b, c + 1, h, w]
        is the known image (0 where masked) and the mask (1 = regenerate); `self_cond` [b, c, h, w] the previous x0
        estimate."""
        self._check(x, log_snr, text_emb, text_mask, lowres, inpaint, self_cond)
        text_emb = text_emb.to(x.dtype)          # e.g. fp16 tokens of the embedding cache
        if self.text_adapter is not None:
            text_emb, text_mask = self.text_adapter(text_emb, text_mask)
        emb = self.noise_embed(log_snr) + self.text_pool(text_emb, text_mask)
        if self.config.lowres_cond:
            if aug_log_snr is None:
                aug_log_snr = torch.full_like(log_snr, NO_AUG_LOG_SNR)
            emb = emb + self.aug_embed(aug_log_snr)
            up = F.interpolate(lowres.to(x.dtype), size=x.shape[-2:], mode=self.config.lowres_upsample,
                               align_corners=False)
            x = torch.cat([x, up], dim=1)
        if self.config.coord_channels:
            x = torch.cat([x, coordinate_maps(x)], dim=1)
        if self.config.self_condition:
            estimate = torch.zeros_like(x[:, :self.config.in_channels]) if self_cond is None else self_cond.to(x.dtype)
            x = torch.cat([x, estimate], dim=1)
        if self.config.inpaint_cond:
            x = torch.cat([x, inpaint.to(x.dtype)], dim=1)
        return x, emb, text_emb, text_mask

    def _check(self, x, log_snr, text_emb, text_mask, lowres, inpaint, self_cond) -> None:
        c = self.config
        if x.ndim != 4 or x.shape[1] != c.in_channels:
            raise ValueError(f"x must be [batch, {c.in_channels}, height, width], got {tuple(x.shape)}")
        b, _, h, w = x.shape
        weights = next(self.parameters()).dtype
        if x.dtype != weights and not torch.is_autocast_enabled(x.device.type):
            raise ValueError(f"x is {x.dtype} but the network's weights are {weights}: convert x with "
                             f"x.to({weights}) (or the network, or run under torch.autocast)")
        f = c.downsample_factor
        if h % f or w % f:
            raise ValueError(f"x size {h}x{w} must be divisible by the network's downsampling factor {f}")
        if log_snr.shape != (b,):
            raise ValueError(f"log_snr must be [batch]=[{b}], got {tuple(log_snr.shape)}")
        if text_emb.ndim != 3 or text_emb.shape[0] != b or text_emb.shape[2] != c.text_dim:
            raise ValueError(f"text_emb must be [{b}, tokens, text_dim={c.text_dim}], got {tuple(text_emb.shape)}")
        if text_mask.shape != text_emb.shape[:2]:
            raise ValueError(f"text_mask must be [{b}, {text_emb.shape[1]}] like text_emb, got {tuple(text_mask.shape)}")
        if c.lowres_cond and (lowres is None or lowres.ndim != 4 or lowres.shape[:2] != x.shape[:2]):
            got = None if lowres is None else tuple(lowres.shape)
            raise ValueError(f"this SR network needs lowres [{b}, {c.in_channels}, h', w'], got {got}")
        if not c.lowres_cond and lowres is not None:
            raise ValueError("lowres was given but the network was built with lowres_cond=False")
        if c.inpaint_cond and (inpaint is None or inpaint.shape != (b, self.inpaint_channels(), h, w)):
            got = None if inpaint is None else tuple(inpaint.shape)
            raise ValueError(f"this inpainting network needs inpaint [{b}, {self.inpaint_channels()}, {h}, {w}] "
                             f"(masked image + mask), got {got}")
        if not c.inpaint_cond and inpaint is not None:
            raise ValueError("inpaint was given but the network was built with inpaint_cond=False")
        if self_cond is not None and not c.self_condition:
            raise ValueError("self_cond was given but the network was built with self_condition=False")
        if self_cond is not None and self_cond.shape != x.shape:
            raise ValueError(f"self_cond (the previous x0 estimate) must be shaped like x {tuple(x.shape)}, "
                             f"got {tuple(self_cond.shape)}")
