"""Markdown rendering of the network benchmark (docs/benchmarks.md)."""
from __future__ import annotations

import datetime

from openimagen.nn import config_to_dict

COMMAND = ("sh benchmarks/reference-env.sh      # a venv of its own with imagen-pytorch (never install it next to "
           "openimagen)\nbenchmarks/.venv-reference/bin/python benchmarks/bench_unet.py --threads {threads} --repeats "
           "{repeats} --out docs/benchmarks.md")

NOTES = """## Why ours is faster, and what we measured on the way

- At equal parameters ours spends fewer FLOPs: one residual block at 32x32 and two at 8x8 (parameters live at low
  resolution, where they are cheap), self-attention only at the lowest level, cross-attention at two.
- GroupNorm runs in the activation dtype: torch's bf16 kernel already accumulates its statistics in fp32, while an
  explicit fp32 upcast made each norm ~15x slower on this CPU (the copies dominate).
- Attention in bf16 on CPU at short sequences (<= 256x256 scores) is two bf16 matmuls around an fp32 softmax: torch's
  CPU flash kernel measured 3-5x slower (fwd+bwd) at these sizes. Everything else (fp32, GPU, long sequences) goes
  through `scaled_dot_product_attention`.
- bf16 autocast: this CPU has AVX512-BF16 (a plain bf16 matmul runs ~4x fp32); convolutions gain ~1.5-2x.
- channels_last is supported (tested equal to NCHW) but slower on this CPU: bf16 GroupNorm in channels_last is ~50x
  slower than in NCHW here, so use NCHW on CPU.
- Classifier-free guidance: one forward on the doubled batch instead of two forwards.
- **Threads on a shared CPU:** with 2 threads while other jobs ran, OpenMP spin-waits made small ops collapse (a tiny
  training loop took 130 s on 2 threads vs 2.5 s on 1); the 1-thread tables are the more stable ones here.
"""


def _config(c) -> str:
    d = c if isinstance(c, dict) else config_to_dict(c)
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _run_section(r: dict) -> list[str]:
    t = r["threads"]
    return [
        f"## {t} thread(s)",
        "",
        "| comparison | ratio |",
        "|---|---|",
        *(f"| {k} | {v:.2f}x |" for k, v in r["ratios"].items()),
        "",
        f"### 1. Base U-Net vs imagen-pytorch 2.1.0 `Unet`, equal parameters (+-10%), {t} thread(s)",
        "",
        "| input | network | params | train img/s | train memory MB | CFG sampling step ms |",
        "|---|---|---|---|---|---|",
        *r["base_rows"],
        "",
        f"### 2. Efficient U-Net vs our standard U-Net, SR 32->128, batch 4, equal parameters, {t} thread(s)",
        "",
        "| network | precision | params | GFLOP per train step | train steps/s | achieved GFLOP/s |",
        "|---|---|---|---|---|---|",
        *r["sr_rows"],
        "",
        f"### 3. Achieved GFLOP/s vs a plain matmul (timed in the same rounds), {t} thread(s)",
        "",
        "| workload | precision | GFLOP/s |",
        "|---|---|---|",
        *r["achieved"],
        "",
        f"### 4. Where the time goes: our base U-Net, bf16 training step, {t} thread(s) (torch.profiler, self CPU)",
        "",
        "| op | share |",
        "|---|---|",
        *r["profile"],
        "",
    ]


def render_report(args, runs: list[dict], machine: str, configs: dict) -> str:
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    threads = " ".join(str(r["threads"]) for r in runs)
    lines = [
        "# Network benchmarks",
        "",
        f"Generated {when} on {machine}, one process, `torch.set_num_threads` fixed per section. Regenerate with:",
        "",
        "```",
        COMMAND.format(threads=threads, repeats=args.repeats),
        "```",
        "",
        f"Every number is the median of {args.repeats} timings taken **round-robin** across the candidates of a table "
        "(A, B, C, A, B, C, ...), because the CPU was shared with other jobs while this ran: absolute numbers move "
        "with the load; the ratios between candidates timed in the same rounds are the meaningful output.",
        "Training step = forward, MSE, backward, fused AdamW (same optimizer for both). Memory = tensors autograd "
        "saves for backward (distinct storages) + fp32 params, grads and AdamW moments (CPU has no peak-allocation "
        "counter). CFG step: ours = one forward on the doubled (cond + empty-prompt) batch; imagen-pytorch = its own "
        "`forward_with_cond_scale` (two forwards). Text: 384-d embeddings, 16 tokens, half of them padding. FLOPs are "
        "counted by `torch.utils.flop_counter.FlopCounterMode` (convs, matmuls, attention; forward and backward).",
        "",
        "Networks compared:",
        "",
        f"- ours (base): `{_config(configs['ours'])}`",
        f"- imagen-pytorch: `Unet({_config(configs['theirs'])}, text_embed_dim=384, channels=3)`",
        f"- Efficient U-Net (SR): `{_config(configs['efficient'])}`",
        f"- standard U-Net (SR): `{_config(configs['standard'])}`",
        "",
    ]
    for r in runs:
        lines += _run_section(r)
    return "\n".join(lines) + "\n" + NOTES
