#!/bin/bash
# Issue 33's training queue, one run at a time, lowest CPU priority (SCHED_IDLE: tests and benchmarks first).
# Each step is skipped when its metrics.json exists and resumed when its folder exists: rerun this script
# in a new session to continue (from the snapshot checkout, so that edits of main cannot reach a run).
cd $HOME/snap-35 || exit 1   # a snapshot of main at 6712e9a (git archive): the code with --teacher-labels
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
# The component ablations, reordered once the first showed that the centre losses and the two-stream split
# cost nothing (HFE1+HFE2 trains as fast as the baseline): attention parts first. Then the fair comparison
# for the shipped EMA model: the baseline's 96 px run given the same 6 epochs with an EMA of its weights.
EPOCHS_CAP=8
capped() {  # capped NAME FLAGS...: step, stopped once history.csv has EPOCHS_CAP epochs (the run stays resumable)
  local hist=$R/$1/history.csv
  [ -f "$hist" ] && [ "$(($(wc -l < "$hist") - 1))" -ge $EPOCHS_CAP ] && { echo "$(date -u +%FT%TZ) capped already: $1"; return; }
  local pattern="--output ${R//+/\\+}/${1//+/\\+} "   # pkill takes a regex: escape the + of the names
  local pid
  if pgrep -f -- "$pattern" >/dev/null; then   # left running by the previous queue: watch it
    pid=$(pgrep -f -- "$pattern" | head -1)
  else
    step "$@" &
    pid=$!
  fi
  while kill -0 $pid 2>/dev/null; do
    if [ -f "$hist" ] && [ "$(($(wc -l < "$hist") - 1))" -ge $EPOCHS_CAP ]; then
      sleep 20   # let the epoch's checkpoint land after its history row
      pkill -INT -f -- "$pattern"; sleep 30; pkill -f -- "$pattern"
      echo "$(date -u +%FT%TZ) capped at $EPOCHS_CAP epochs: $1"
    fi
    sleep 15
  done
}
capped components/HFE1+HFE2-seed0 --no-sa --no-lfa
capped components/HFE1+SA+HFE2-seed0 --no-lfa
capped components/HFE1+HFE2+LFA-seed0 --no-sa
# Distillation first (the accuracy target): the shipped model's last step (6 EMA epochs at 96 px from the 10-epoch
# DSAN) with targets half the labels, half the teachers' (the 96 px baseline and the shipped EMA DSAN, T = 2):
#   dsan teacher-labels --weights $R/base96-ft10-s0/model.keras $R/dsan96-ema-plus6-s0/model.keras \
#       --data-dir $DATA --temperature 2 --output $R/teachers/base96-dsan96ema-T2.npz
step dsan96-ema-plus6-teacher-s0 --image-size 96 --epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 --ema-decay 0.999 \
     --init-from $R/dsan96-ft10-s0/model.keras --teacher-labels $R/teachers/base96-dsan96ema-T2.npz --teacher-weight 0.5
capped components/DSAN-no-centre-losses-seed0 --lambda1 0 --lambda2 0
capped components/DSAN-a-gradient-seed0 --no-stop-attention-gradient   # SA is the cost: is a' = stop_gradient(a) (DESIGN) the cause?
# SA and the centre losses cost together: which centre loss? L_CCS (lambda2) off, then L_FR_C (lambda1) off.
capped components/DSAN-no-LCCS-seed0 --lambda2 0
# Not run further: with lambda1 = 0 the centres never reach the network (L_CCS moves only the centres), so the
# run is DSAN-no-centre-losses-seed0 again; its first 3 epochs matched that run's to every digit.
# capped components/DSAN-no-LFRC-seed0 --lambda1 0
step base96-ema-plus6-s0 --variant baseline --image-size 96 --epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 \
     --ema-decay 0.999 --init-from $R/base96-ft10-s0/model.keras
# Ingredients for a weight average ("model soup") of the shipped model's last step: the same step with other
# seeds (a later --seed overrides step's --seed 0), to be averaged with dsan96-ema-plus6-s0 and scored by the rule.
step dsan96-ema-plus6-s1 --image-size 96 --epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 --ema-decay 0.999 \
     --init-from $R/dsan96-ft10-s0/model.keras --seed 1
step dsan96-ema-plus6-s2 --image-size 96 --epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 --ema-decay 0.999 \
     --init-from $R/dsan96-ft10-s0/model.keras --seed 2
