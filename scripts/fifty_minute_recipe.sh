#!/bin/bash
# The 50-CPU-minute stage-1 recipe (issue 13; docs/shipped-model.md "The 50-minute model"), end to end on one thread:
#   data and text caches (once; not counted: the encoder is frozen, so captions are encoded ahead of training),
#   warm-up: 2,000 steps x 32 from scratch on plain relation captions (1,500 until session 18; 5 seeds: 60.6 -> 65.7),
#   phase A: x 32 on the full world (captions that name sizes, --size-words 0.5) from the warm-up's EMA, for what is
#   left of the budget (train.max_minutes: the cosine decays over the time left, so every machine uses the whole
#   budget), bf16 autocast where the CPU has native bf16,
#   then `openimagen bench --split eval --stop-at-stage 1` (the model judged at its own 32 px).
# usage: scripts/fifty_minute_recipe.sh OUT_DIR [SEED] [CORE]     e.g. scripts/fifty_minute_recipe.sh runs/r50 3 0
# env: DATA_DIR (default runs), BUDGET_MINUTES (50), WARMUP_STEPS / PHASE_A_STEPS (2000 / 20000: a cap the budget
#      ends first; small values for a smoke test), SIZE_WORDS (0.5; 0: the session-14 data)
set -euo pipefail
out=${1:?usage: scripts/fifty_minute_recipe.sh OUT_DIR [SEED] [CORE]}; seed=${2:-0}; core=${3:-0}
data=${DATA_DIR:-runs}
run() { OMP_NUM_THREADS=1 taskset -c "$core" "$@"; }
precision=$(python -c "from openimagen.train.trainer import cpu_has_fast_bf16; print('bf16' if cpu_has_fast_bf16() else 'no')")

mkdir -p "$data" "$out"
size_words=${SIZE_WORDS:-0.5}
train=shapes-train-sw${size_words/./}   # sw05: the shipped model's data (provenance.json's commands) + named sizes
if [ ! -f "$data/$train.jsonl" ]; then
  python -m openimagen.data.shapes.world --train 10000 "$data/$train-world.jsonl" --size-words "$size_words"
  python -m openimagen.data.shapes.warmup 10000 "$data/framed-10k.jsonl" --seed 33 --frame-seed 77
  cat "$data/$train-world.jsonl" "$data/framed-10k.jsonl" > "$data/$train.jsonl.tmp"
  mv "$data/$train.jsonl.tmp" "$data/$train.jsonl"
fi
[ -f "$data/warmup.jsonl" ] || python -m openimagen.data.shapes.warmup 3000 "$data/warmup.jsonl"
encode() { run openimagen encode "$1" "$2" --field prompt --max-length 32 --layers 0,-1 --threads 1; }  # resumes
encode "$data/warmup.jsonl" "$data/cache-minilm-warmup-L01"
encode "$data/$train.jsonl" "$data/cache-minilm-$train-L01"

# the stage-1 network the recipe was measured with: the shipped config's, without the self-conditioning the shipped
# model switches on for its compound phase, and with attention once per block
common=(--set train.batch_size=32 --set train.lr=5.6e-4 --set "train.mixed_precision=$precision"
        --set "train.seed=$seed" --set train.sample_every=0 --set train.checkpoint_every=500
        --set cascade.stages.1.network.self_condition=false --set cascade.stages.1.network.attn_every_res_block=false)
warmup=(--set "train.output_dir=$out/warmup" --set train.max_steps=${WARMUP_STEPS:-2000}
        --set "data.source=shapes:$data/warmup.jsonl" --set "data.embedding_cache=$data/cache-minilm-warmup-L01")
phase_a=(--set "train.output_dir=$out/phase-a" --set "train.init_from=$out/warmup/cascade" --set train.max_steps=${PHASE_A_STEPS:-20000}
         --set "data.source=shapes:$data/$train.jsonl" --set "data.embedding_cache=$data/cache-minilm-$train-L01")
config=configs/shapes-cascade.toml
start=$(date +%s)
run openimagen train $config --stage 1 "${common[@]}" "${warmup[@]}"
# the warm-up's export borrows the shipped stage 2, so that it is a whole cascade phase A can start from
openimagen export $config "${common[@]}" "${warmup[@]}" --set train.init_from=src/openimagen/models/shapes-cascade \
  --no-raw --out "$out/warmup/cascade"
# phase A's budget: what is left, less 45 s for its start-up and last checkpoint
minutes=$(python -c "print(round(${BUDGET_MINUTES:-50} - ($(date +%s) - $start + 45) / 60, 2))")
phase_a+=(--set "train.max_minutes=$minutes")
run openimagen train $config --stage 1 "${common[@]}" "${phase_a[@]}"
echo "training wall time: $(( ($(date +%s) - start) / 60 )) min (warm-up + phase A, one thread, precision $precision)"
openimagen export $config "${common[@]}" "${phase_a[@]}" --no-raw --out "$out/cascade"
run openimagen bench --model "$out/cascade" --split eval --stop-at-stage 1 --threads 1 --out "$out/bench-eval-32"
