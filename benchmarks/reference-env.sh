#!/bin/sh
# Build the environment the network benchmark runs in: openimagen + the reference imagen-pytorch, in a venv of
# its own (default benchmarks/.venv-reference). Never install imagen-pytorch into the environment you use
# openimagen from: it pulls torchvision, and transformers then imports torchvision's compiled ops, which a
# CPU-only torch lacks ("Could not import module 'BertModel'", issue 17). Usage:
#   sh benchmarks/reference-env.sh [VENV_DIR]
#   benchmarks/.venv-reference/bin/python benchmarks/bench_unet.py --threads 2 1 --repeats 5 --out docs/benchmarks.md
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-"$here/.venv-reference"}
torch_version=$(python3 -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null || echo 2.13.0)
python3 -m venv "$venv"
# torch stays at the version of this machine's torch (a CPU build if that is what you use: set PIP_INDEX_URL or
# PIP_EXTRA_INDEX_URL to your CPU wheel index first); the constraint makes pip fail rather than swap in another
# (multi-GB CUDA) torch to satisfy torchvision.
echo "torch==$torch_version" > "$venv/constraints.txt"
"$venv/bin/pip" install --quiet -c "$venv/constraints.txt" "torch==$torch_version"
"$venv/bin/pip" install --quiet -c "$venv/constraints.txt" "imagen-pytorch==2.1.0" -e "$here/.."
echo "reference environment ready: $venv/bin/python benchmarks/bench_unet.py ..."
