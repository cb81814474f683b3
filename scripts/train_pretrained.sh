#!/usr/bin/env bash
# Builds the pretrained models in grasplab/models/pretrained/ with grasplab's own commands,
# measures them and writes their model cards:
#   ggcnn2-synth-depth  GG-CNN2, the default (most accurate)
#   ggcnn-synth-depth   GG-CNN, the paper's network (`grasplab bench detect` times it)
#   ggcnn-fast-synth-depth  GG-CNN with a cheap last layer, distilled from ggcnn-synth-depth
#   rerank-ggcnn2-synth-depth  a crop classifier re-ranking the default's grasps (--rerank)
# The shipped files were made on one H100 with 16 CPU cores (synthesis 4.5 min as 15 shard
# processes, training 4-8 min each with --workers 7). On 2 CPU cores expect about 30 min of
# synthesis (400 objects took 15 min here) and 1-2 h per training run (GG-CNN took 4.5 min per
# epoch on 1,784 images here; these runs have 3,572); GPU and CPU arithmetic differ, so a rerun gives
# close, not bit-identical, weights. RUNS=... picks the work folder, SHARDS=N runs N synthesis
# processes (no Ray needed), WORKERS=N data-loading processes for training.
set -euo pipefail
RUNS=${RUNS:-runs}
SHARED=${SHARED:-../shared/data}
G=${GRASPLAB:-grasplab}
SHARDS=${SHARDS:-1}
WORKERS=${WORKERS:-0}
HARDWARE=${HARDWARE:-}
mkdir -p "$RUNS"

# 1. training scenes: 800 procedural objects, 3 stable poses, 2 Jacquard-like views each; the
#    jacquard-like preset (grasplab/presets/jacquard-like.json): labels are the collision-free
#    grasps of a Robotiq 2F-85 with robust Ferrari-Canny eps > 0.001, 450 candidates per object
SYNTH="--preset jacquard-like --objects procedural:800 --seed 0"
TEST="--preset jacquard-like --objects procedural:40 --seed 1"
if [ "$SHARDS" -gt 1 ]; then
  for k in $(seq 0 $((SHARDS - 1))); do
    OMP_NUM_THREADS=1 $G synth $SYNTH --out "$RUNS/synth" --workers 0 --shard "$k/$SHARDS" > "$RUNS/synth-shard-$k.log" 2>&1 &
  done
  wait
fi
$G synth $SYNTH --out "$RUNS/synth"            # runs what is left (all of it when SHARDS=1)
# 2. held-out test scenes: 40 new objects (another seed gives other shapes), never trained on
$G synth $TEST --out "$RUNS/synth-test"

# 3. train on the noisy depth, whole frame resized to 300², depth relative to the fitted table
#    plane; object-wise fold 0 validates and picks the checkpoint
train() {   # name arch epochs data synth-command [more train options]
  local name=$1 arch=$2 epochs=$3 data=$4 synth=$5
  shift 5
  $G train ggcnn --arch "$arch" --data "$data" --depth stereo --crop resize --depth-reference table \
    --epochs "$epochs" --split object --fold 0 --workers "$WORKERS" --out "$RUNS/train-$name" "$@"
  # 4. accuracy: (a) held-out objects (with and without the object masks), (b) Jacquard samples
  #    zero-shot, perfect and stereo depth
  $G evaluate --model "$RUNS/train-$name/model.npz" --data "$RUNS/synth-test" --depth stereo \
    --out "$RUNS/eval-$name/synth-test" --json
  $G evaluate --model "$RUNS/train-$name/model.npz" --data "$RUNS/synth-test" --depth stereo --no-mask \
    --out "$RUNS/eval-$name/synth-test-nomask" --json
  if [ -d "$SHARED/jacquard" ]; then
    for d in perfect stereo; do
      $G evaluate --model "$RUNS/train-$name/model.npz" --data "$SHARED/jacquard" --depth $d \
        --out "$RUNS/eval-$name/jacquard-$d" --json
    done
  fi
  # 5. into the package, with its model card
  python "$(dirname "$0")/package_pretrained.py" --train "$RUNS/train-$name" --evals "$RUNS/eval-$name" --name "$name" \
    --synth-command "grasplab synth $synth" --test-command "grasplab synth $TEST" --hardware "$HARDWARE"
}
train ggcnn2-synth-depth ggcnn2 6 "$RUNS/synth" "$SYNTH"
train ggcnn-synth-depth ggcnn 8 "$RUNS/synth" "$SYNTH"

# 6. the fast model: GG-CNN with an 8-channel last layer (~3× less arithmetic), distilled from the
#    GG-CNN just packaged on the first 400 of its training objects (objects follow from the seed
#    and their index); errors where the teacher sees grasps weigh 10×, and the width term 10×
#    (else widths drift ~7 % from the teacher's). The shipped one took 10
#    epochs, ~2.4 min each, on 2 CPU cores
FAST_SYNTH=${SYNTH/procedural:800/procedural:400}
$G synth $FAST_SYNTH --out "$RUNS/synth-400"
train ggcnn-fast-synth-depth ggcnn 10 "$RUNS/synth-400" "$FAST_SYNTH" --head-filters 8 --teacher ggcnn-synth-depth \
  --quality-pos-weight 10 --width-loss-weight 10

# 7. the crop re-ranker for the default model: a small classifier on grasp-aligned depth crops that
#    chooses among GG-CNN2's peaks and a 6-px grid over the object × 4 angles; trained on the 400
#    objects above and 400 more of another seed, validated (checkpoint choice) on 80 objects of a
#    third seed. The shipped one: 2 CPU cores, synthesis of the extra objects ~30 min, cropping
#    ~21 min, ~9 min per epoch
MORE_SYNTH=${FAST_SYNTH/--seed 0/--seed 3}
TUNE="--preset jacquard-like --objects procedural:80 --seed 2"
$G synth $MORE_SYNTH --out "$RUNS/synth-400-s3"
$G synth $TUNE --out "$RUNS/synth-tune"
RR=rerank-ggcnn2-synth-depth
$G train reranker --model ggcnn2-synth-depth --data "$RUNS/synth-400" --data "$RUNS/synth-400-s3" \
  --val-data "$RUNS/synth-tune" --depth stereo --epochs 4 --workers "$WORKERS" --out "$RUNS/train-$RR"
for mode in plain reranked; do
  opt=()
  [ "$mode" = reranked ] && opt=(--rerank "$RUNS/train-$RR/model.npz")
  $G evaluate --model ggcnn2-synth-depth "${opt[@]}" --data "$RUNS/synth-test" --depth stereo \
    --out "$RUNS/eval-$RR/$mode/synth-test" --json
  $G evaluate --model ggcnn2-synth-depth "${opt[@]}" --data "$RUNS/synth-test" --depth stereo --no-mask \
    --out "$RUNS/eval-$RR/$mode/synth-test-nomask" --json
  if [ -d "$SHARED/jacquard" ]; then
    for d in perfect stereo; do
      $G evaluate --model ggcnn2-synth-depth "${opt[@]}" --data "$SHARED/jacquard" --depth $d \
        --out "$RUNS/eval-$RR/$mode/jacquard-$d" --json
    done
  fi
done
python "$(dirname "$0")/package_reranker.py" --train "$RUNS/train-$RR" --evals "$RUNS/eval-$RR" --name "$RR" \
  --synth-command "grasplab synth $FAST_SYNTH" --synth-command "grasplab synth $MORE_SYNTH" --val-command "grasplab synth $TUNE" \
  --test-command "grasplab synth $TEST" --hardware "$HARDWARE"
