"""Network speed benchmark (issue 4): our base U-Net vs imagen-pytorch's Unet at equal parameters, our Efficient
U-Net vs our standard U-Net at super-resolution, and achieved GFLOP/s vs a plain matmul. One process, one CPU,
fixed thread count; candidates are timed round-robin and medians reported (the machine may be shared).

    /work/venv/bin/python benchmarks/bench_unet.py --threads 2 1 --repeats 5 --out docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_utils import interleaved_medians, step_flops, top_ops, training_memory_bytes  # noqa: E402
from imagen_pytorch_compat import import_imagen_pytorch_unet  # noqa: E402

from openimagen.nn import EfficientUNetConfig, UNetConfig, build_network, count_parameters  # noqa: E402

TEXT_DIM, TOKENS, CFG_SCALE = 384, 16, 3.0
F, T = False, True
THEIR_BASE = dict(dim=64, dim_mults=(1, 2, 4), num_resnet_blocks=2, layer_attns=(F, T, T), layer_cross_attns=(F, T, T))
OUR_BASE = UNetConfig(text_dim=TEXT_DIM, base_channels=64, channel_mults=(1, 2, 4), num_res_blocks=(1, 1, 2),
                      self_attn_levels=(F, F, T), cross_attn_levels=(F, T, T), cond_dim=128)
SR_EFFICIENT = EfficientUNetConfig(text_dim=TEXT_DIM, base_channels=32, channel_mults=(1, 2, 4, 8),
                                   num_res_blocks=(2, 4, 8, 8), self_attn_levels=F, cross_attn_levels=(F, F, F, T))
SR_STANDARD = UNetConfig(text_dim=TEXT_DIM, lowres_cond=True, base_channels=32, channel_mults=(1, 2, 4, 8, 8),
                         num_res_blocks=2, self_attn_levels=F, cross_attn_levels=(F, F, F, F, T))


def batch(b: int, size: int, lowres: int | None = None) -> dict:
    g = torch.Generator().manual_seed(0)
    d = dict(x=torch.randn(b, 3, size, size, generator=g), t=torch.rand(b, generator=g),
             text_emb=torch.randn(b, TOKENS, TEXT_DIM, generator=g), text_mask=torch.ones(b, TOKENS, dtype=torch.bool))
    d["text_mask"][:, TOKENS // 2:] = False
    if lowres:
        d["lowres"] = torch.randn(b, 3, lowres, lowres, generator=g)
    return d


def ours_forward(net, d):
    extra = dict(lowres=d["lowres"], aug_log_snr=torch.zeros_like(d["t"])) if "lowres" in d else {}
    return net(d["x"], 10 - 20 * d["t"], d["text_emb"], d["text_mask"], **extra)


def theirs_forward(net, d):
    return net(d["x"], d["t"], text_embeds=d["text_emb"], text_mask=d["text_mask"])


def train_step(net, forward, d, bf16: bool):
    """fwd + MSE + bwd + fused AdamW, optionally under bf16 autocast."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, fused=True)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = forward(net, d)
        loss = (out.float() - d["x"]).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def cfg_step(net, d, bf16: bool, ours: bool):
    """One guided sampling step: ours = one forward on the doubled batch; theirs = its forward_with_cond_scale."""
    if ours:
        null = dict(text_emb=torch.zeros_like(d["text_emb"]), text_mask=torch.zeros_like(d["text_mask"]))
        both = {k: torch.cat([v, null.get(k, v)]) for k, v in d.items()}
        call = lambda: ours_forward(net, both)  # noqa: E731
    else:
        call = lambda: net.forward_with_cond_scale(d["x"], d["t"], text_embeds=d["text_emb"],  # noqa: E731
                                                   text_mask=d["text_mask"], cond_scale=CFG_SCALE)

    def step():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            call()
    return step


def base_vs_imagen_pytorch(repeats: int) -> tuple[list[str], dict]:
    theirs = import_imagen_pytorch_unet(TEXT_DIM)(**THEIR_BASE, text_embed_dim=TEXT_DIM, channels=3)
    ours = build_network(OUR_BASE)
    p_ours, p_theirs = count_parameters(ours), count_parameters(theirs)
    assert abs(p_ours / p_theirs - 1) <= 0.10, (p_ours, p_theirs)
    rows, ratios = [], {}
    for size, b in ((32, 16), (64, 8)):
        d = batch(b, size)
        train, sample = {}, {}
        for prec, bf in (("fp32", False), ("bf16", True)):
            train[f"ours {prec}"] = train_step(ours, ours_forward, d, bf)
            train[f"imagen-pytorch {prec}"] = train_step(theirs, theirs_forward, d, bf)
            sample[f"ours {prec}"] = cfg_step(ours, d, bf, True)
            sample[f"imagen-pytorch {prec}"] = cfg_step(theirs, d, bf, False)
        t_train = interleaved_medians(train, repeats)
        t_sample = interleaved_medians(sample, repeats)
        mem = {"ours": training_memory_bytes(ours, lambda: ours_forward(ours, d)),
               "imagen-pytorch": training_memory_bytes(theirs, lambda: theirs_forward(theirs, d))}
        for name in train:
            who = name.rsplit(" ", 1)[0]
            rows.append(f"| {size}px b{b} | {name} | {(p_ours if who == 'ours' else p_theirs) / 1e6:.2f}M | "
                        f"{b / t_train[name]:.1f} | {mem[who] / 2**20:.0f} | {1e3 * t_sample[name]:.0f} |")
        best_theirs = min(t_train["imagen-pytorch fp32"], t_train["imagen-pytorch bf16"])
        ratios[f"{size}px train: ours bf16 / imagen-pytorch fp32"] = t_train["imagen-pytorch fp32"] / t_train["ours bf16"]
        ratios[f"{size}px train: ours bf16 / imagen-pytorch best"] = best_theirs / t_train["ours bf16"]
        ratios[f"{size}px train: ours fp32 / imagen-pytorch fp32"] = t_train["imagen-pytorch fp32"] / t_train["ours fp32"]
        ratios[f"{size}px CFG step: ours bf16 / imagen-pytorch fp32"] = (t_sample["imagen-pytorch fp32"]
                                                                          / t_sample["ours bf16"])
        print(*rows[-4:], sep="\n", flush=True)
    return rows, ratios


def efficient_vs_standard(repeats: int, b: int = 4, size: int = 128) -> tuple[list[str], dict]:
    nets = {"Efficient U-Net": build_network(SR_EFFICIENT), "standard U-Net": build_network(SR_STANDARD)}
    d = batch(b, size, lowres=size // 4)
    steps = {f"{n} {p}": train_step(net, ours_forward, d, p == "bf16") for n, net in nets.items() for p in ("fp32", "bf16")}
    times = interleaved_medians(steps, repeats)
    rows = []
    for name, net in nets.items():
        flops = step_flops(train_step(net, ours_forward, d, False))
        for prec in ("fp32", "bf16"):
            s = times[f"{name} {prec}"]
            rows.append(f"| {name} | {prec} | {count_parameters(net) / 1e6:.2f}M | {flops / 1e9:.0f} | "
                        f"{1 / s:.2f} | {flops / s / 1e9:.0f} |")
    print(*rows, sep="\n", flush=True)
    ratios = {f"SR {size // 4}->{size} train steps/s, Efficient / standard ({p})":
              times[f"standard U-Net {p}"] / times[f"Efficient U-Net {p}"] for p in ("fp32", "bf16")}
    return rows, ratios


def achieved_gflops(repeats: int, b: int = 16, size: int = 32, n: int = 2048) -> tuple[list[str], list[str]]:
    """GFLOP/s of our base U-Net's training step and of a plain n x n matmul, timed in the same rounds;
    and where the bf16 step's time goes (profiler rows)."""
    net, d = build_network(OUR_BASE), batch(b, size)
    flops = step_flops(train_step(net, ours_forward, d, False))
    mats = {p: (torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt))
            for p, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    fns = {**{f"step {p}": train_step(net, ours_forward, d, p == "bf16") for p in mats},
           **{f"matmul {p}": (lambda a=a, c=c: a @ c) for p, (a, c) in mats.items()}}
    times = interleaved_medians(fns, repeats)
    rows = [f"| base U-Net train step {size}px b{b} | {p} | {flops / times[f'step {p}'] / 1e9:.0f} |" for p in mats]
    rows += [f"| plain {n}x{n} matmul | {p} | {2 * n ** 3 / times[f'matmul {p}'] / 1e9:.0f} |" for p in mats]
    profile = [f"| {name} | {100 * share:.0f}% |" for name, share in top_ops(fns["step bf16"])]
    return rows, profile


def write_atomic(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run(threads: int, repeats: int) -> dict:
    """All three comparisons at one thread count."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"== {threads} thread(s)", flush=True)
    base_rows, base_ratios = base_vs_imagen_pytorch(repeats)
    sr_rows, sr_ratios = efficient_vs_standard(repeats)
    achieved, profile = achieved_gflops(repeats)
    ratios = {**base_ratios, **sr_ratios}
    print(*achieved, *(f"{k}: {v:.2f}x" for k, v in ratios.items()), sep="\n", flush=True)
    return dict(threads=threads, base_rows=base_rows, sr_rows=sr_rows, achieved=achieved, profile=profile,
                ratios=ratios)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="one full run per thread count")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds per candidate (median)")
    ap.add_argument("--out", default=None, help="write the markdown report here (e.g. docs/benchmarks.md)")
    args = ap.parse_args()
    runs = [run(threads, args.repeats) for threads in args.threads]
    if args.out:
        from bench_report import render_report
        write_atomic(args.out, render_report(
            args, runs, machine=(f"{platform.processor() or platform.machine()} "
                                 f"(CPU capability {torch.backends.cpu.get_cpu_capability()}), torch {torch.__version__}"),
            configs=dict(ours=OUR_BASE, theirs=THEIR_BASE, efficient=SR_EFFICIENT, standard=SR_STANDARD)))


if __name__ == "__main__":
    main()
