"""Time to the first image (issue 17): whole `openimagen sample` commands, and where a fresh process spends its time.

Run it on an idle machine (other jobs on the cores multiply every figure); it prints the CPU, the load average and
both tables as markdown. Usage:
    python benchmarks/startup.py [--runs 5] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "a red circle above a blue square"

# One fresh interpreter per measurement; each phase is what `openimagen sample` does, in its order.
PHASES = r"""
import sys, time
t = [time.perf_counter()]
import torch; t.append(time.perf_counter())
torch.set_num_threads(int(sys.argv[1]))
import transformers, openimagen.cli.sample, openimagen.cascade; t.append(time.perf_counter())
from openimagen.cascade import Cascade
from openimagen.cli.model_folder import resolve_model
cascade = Cascade.from_pretrained(resolve_model(None)); t.append(time.perf_counter())
cascade.embedder.encoder; t.append(time.perf_counter())
image = cascade([sys.argv[2]], seed=0)[0]; t.append(time.perf_counter())
image.save(sys.argv[3]); t.append(time.perf_counter())
print(" ".join(f"{b - a:.3f}" for a, b in zip(t, t[1:])))
"""
PHASE_NAMES = ("import torch", "import transformers + openimagen", "load the cascade (networks + weights)",
               "load the text encoder (MiniLM)", "sample (all stages)", "write the PNG")


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def whole_command(threads: int, out: str) -> float:
    start = time.perf_counter()
    subprocess.run(["openimagen", "sample", PROMPT, "--seed", "0", "--threads", str(threads), "-o", out],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def phases(threads: int, out: str) -> list[float]:
    result = subprocess.run([sys.executable, "-c", PHASES, str(threads), PROMPT, out], check=True,
                            capture_output=True, text=True)
    return [float(x) for x in result.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    import torch

    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, bf16 {'yes' if bf16 else 'no'}; "
          f"load average before: {os.getloadavg()[0]:.2f}; median of {args.runs} runs (first run discarded)\n")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "x.png")
        whole_command(args.threads[0], out)           # warm the page cache once
        print("| threads | `openimagen sample` wall s (median, min-max) |\n|---|---|")
        for threads in args.threads:
            times = [whole_command(threads, out) for _ in range(args.runs)]
            print(f"| {threads} | {statistics.median(times):.2f} ({min(times):.2f}-{max(times):.2f}) |")
        print("\n| phase | " + " | ".join(f"{t} thread(s), s" for t in args.threads) + " |")
        print("|---|" + "---|" * len(args.threads))
        table = {t: [phases(t, out) for _ in range(args.runs)] for t in args.threads}
        for i, name in enumerate(PHASE_NAMES):
            print(f"| {name} | " + " | ".join(f"{statistics.median(r[i] for r in table[t]):.2f}"
                                            for t in args.threads) + " |")
        print("| sum | " + " | ".join(f"{statistics.median(sum(r) for r in table[t]):.2f}" for t in args.threads)
              + " |")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
