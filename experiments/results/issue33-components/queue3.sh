#!/bin/bash
# Issue 33's training queue, one run at a time, lowest CPU priority (SCHED_IDLE: tests and benchmarks first).
# Each step is skipped when its metrics.json exists and resumed when its folder exists: rerun this script
# in a new session to continue (from the snapshot checkout, so that edits of main cannot reach a run).
cd $HOME/snap-33 || exit 1
export PYTHONPATH=$PWD
DATA=../shared/datasets/ferplus
R=$HOME/runs/issue33
step() {  # step NAME FLAGS...
  local out=$R/$1; shift
  [ -f "$out/metrics.json" ] && { echo "$(date -u +%FT%TZ) done already: $out"; return; }
  local resume=(); [ -d "$out" ] && resume=(--resume)
  echo "$(date -u +%FT%TZ) start: $out ${resume[*]}"
  chrt --idle 0 dsan train --dataset ferplus --data-dir $DATA --preset cpu-long --seed 0 --verbose 2 \
      --output "$out" "${resume[@]}" "$@" >> "$out.log" 2>&1
  echo "$(date -u +%FT%TZ) exit $?: $out"
}
# queue3: after queue2 (the component runs), the fair comparison for the shipped EMA model: the baseline's
# 96 px run given the same 6 epochs with an EMA of its weights.
while pgrep -f "bash queue2.sh" >/dev/null; do sleep 60; done
step base96-ema-plus6-s0 --variant baseline --image-size 96 --epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 \
     --ema-decay 0.999 --init-from $R/base96-ft10-s0/model.keras
