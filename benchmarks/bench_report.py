"""Markdown rendering of the network benchmark (docs/benchmarks.md)."""
from __future__ import annotations

import datetime

from openimagen.nn import config_to_dict

COMMAND = "/work/venv/bin/python benchmarks/bench_unet.py --threads {threads} --repeats {repeats} --out docs/benchmarks.md"


def _config(c) -> str:
    d = c if isinstance(c, dict) else config_to_dict(c)
    return ", ".join(f"{k}={v}" for k, v in d.items())


def render_report(args, base_rows, sr_rows, achieved, profile, ratios, machine: str, configs: dict) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Network benchmarks",
        "",
        f"Generated {when} on {machine}, `torch.set_num_threads({args.threads})`, one process. Regenerate with:",
        "",
        "```",
        COMMAND.format(threads=args.threads, repeats=args.repeats),
        "```",
        "",
        f"Every number is the median of {args.repeats} timings taken **round-robin** across the candidates of a table "
        "(A, B, C, A, B, C, ...), because the CPU was shared with other jobs while this ran: absolute numbers move "
        "with the load, the ratios between candidates timed in the same rounds are the meaningful output.",
        "Training step = forward, MSE, backward, fused AdamW. Memory = tensors autograd saves for backward "
        "(distinct storages) + fp32 params, grads and AdamW moments (CPU has no peak-allocation counter).",
        "",
        "## Ratios",
        "",
        "| comparison | ratio |",
        "|---|---|",
        *(f"| {k} | {v:.2f}x |" for k, v in ratios.items()),
        "",
        "## 1. Base U-Net vs imagen-pytorch 2.1.0 `Unet` at equal parameters (+-10%)",
        "",
        "| input | network | params | train img/s | train memory MB | CFG sampling step ms |",
        "|---|---|---|---|---|---|",
        *base_rows,
        "",
        "CFG step: ours = one forward on the doubled (cond + empty-prompt) batch; imagen-pytorch = its own "
        f"`forward_with_cond_scale` (two forwards). Text: {384}-d embeddings, 16 tokens, half of them padding.",
        "",
        f"- ours: `{_config(configs['ours'])}`",
        f"- imagen-pytorch: `Unet({_config(configs['theirs'])}, text_embed_dim=384)`",
        "",
        "## 2. Efficient U-Net vs our standard U-Net at super-resolution 32->128 (batch 4, equal parameters)",
        "",
        "| network | precision | params | GFLOP per train step | train steps/s | achieved GFLOP/s |",
        "|---|---|---|---|---|---|",
        *sr_rows,
        "",
        f"- Efficient U-Net: `{_config(configs['efficient'])}`",
        f"- standard U-Net: `{_config(configs['standard'])}`",
        "",
        "## 3. Achieved GFLOP/s vs a plain matmul (same run)",
        "",
        "| workload | precision | GFLOP/s |",
        "|---|---|---|",
        *achieved,
        "",
        "FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (convs, matmuls, attention; forward and "
        "backward); elementwise ops, norms and the optimizer are not counted but do take time.",
        "",
        "## 4. Where the time goes: our base U-Net, bf16 training step (torch.profiler, self CPU time)",
        "",
        "| op | share |",
        "|---|---|",
        *profile,
        "",
        "## Why ours is faster, and what we measured on the way",
        "",
        "- At equal parameters ours spends fewer FLOPs: one residual block at 32x32 and two at 8x8 (params live at "
        "low resolution, where they are cheap), self-attention only at the lowest level, cross-attention at two.",
        "- GroupNorm runs in the activation dtype: torch's bf16 kernel already accumulates statistics in fp32, while "
        "an explicit fp32 upcast made each norm ~15x slower on this CPU (the copies dominate).",
        "- bf16 autocast: this CPU has AVX512-BF16 (a plain bf16 matmul runs ~4x fp32); convolutions gain ~1.5-2x.",
        "- channels_last is supported (tested equal to NCHW) but is slower on this CPU: bf16 GroupNorm in "
        "channels_last is ~50x slower than NCHW here, so the benchmark and the trainer use NCHW on CPU.",
        "- Classifier-free guidance: one forward on the doubled batch instead of two forwards.",
        "",
    ]
    return "\n".join(lines)
