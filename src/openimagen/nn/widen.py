"""Start a network from another one's weights when it has more input channels (e.g. an inpainting network from the
text-to-image one it fine-tunes): the new input channels get zero weights, so at first they change nothing. Likewise
a residual text adapter the saved network lacks keeps its initialisation, which is the identity."""
from __future__ import annotations

import torch
from torch import nn

INPUT_CONV = "input_conv.weight"     # [out, in, k, k] in both U-Nets; new inputs are appended after the old ones
ADAPTER = "cond.text_adapter."       # nn/text_adapter.py; with text_residual its gate starts at 0


@torch.no_grad()
def load_widened(network: nn.Module, state_dict: dict[str, torch.Tensor]) -> list[str]:
    """Load `state_dict` into `network`; where the network's input conv takes more input channels than the saved
    one, the saved weights fill the leading channels and the rest are zero. Returns what was widened."""
    own = network.state_dict()
    weights, widened = dict(state_dict), []
    saved = weights.get(INPUT_CONV)
    if saved is not None and INPUT_CONV in own and saved.shape != own[INPUT_CONV].shape:
        target = own[INPUT_CONV]
        if saved.shape[0] != target.shape[0] or saved.shape[2:] != target.shape[2:] or saved.shape[1] > target.shape[1]:
            raise ValueError(f"{INPUT_CONV}: saved shape {list(saved.shape)} cannot widen to {list(target.shape)}")
        wide = torch.zeros_like(target)
        wide[:, :saved.shape[1]] = saved.to(target.dtype)
        weights[INPUT_CONV] = wide
        widened.append(f"{INPUT_CONV}: {saved.shape[1]} -> {target.shape[1]} input channels (new ones at zero)")
    adapter = [k for k in own if k.startswith(ADAPTER)]
    if adapter and getattr(network.config, "text_residual", False) and not any(k in weights for k in adapter):
        weights.update({k: own[k] for k in adapter})
        widened.append(f"text adapter: new ({len(adapter)} tensors), starts as the identity")
    network.load_state_dict(weights)
    return widened
