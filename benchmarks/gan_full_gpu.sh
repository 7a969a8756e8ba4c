#!/bin/bash
# The GAN items of issue 18 at `full` on one GPU (JAX): 1.2d, 1.2e, 1.2f (3 seeds), 1.2g, 1.1g.
# Prepare as benchmarks/gpu_full.sh says (.whl and .gpudata/mnist.npz), plus the tree to run as a
# tarball, since the device receives the session's checkout, which may be another worktree:
#   git ls-files -co --exclude-standard | tar czf .gpudata/wt-gan.tgz -T -
# then, with the device tool:  run  command="BUDGET=450 bash benchmarks/gan_full_gpu.sh"
#                                   carry=[".whl", ".gpudata"]   (measured: 282 s, RESULTS.md 2026-11-28 05:40)
set -u
OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
# The device receives the session's checkout, not this worktree: the wt-gan tree travels as a tarball.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
mkdir -p /tmp/w && tar xzf .gpudata/wt-gan.tgz -C /tmp/w && mkdir -p /tmp/w/.gpudata && cp .gpudata/mnist.npz /tmp/w/.gpudata/ && cd /tmp/w || exit 4
[ -f experiments/gan/f_seeds.py ] || { echo "not the wt-gan tree"; exit 9; }
echo "wt-gan tarball" | tee "$OUT/machine.txt"
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/machine.txt"
t0=$(date +%s.%N)
timeout "${BUDGET:-480}" python3 -m harness --root reports run 1.1g 1.2d 1.2e 1.2f 1.2g --profile "${PROFILE:-full}" \
  --jobs "${JOBS:-auto}" --data .gpudata/mnist.npz > "$OUT/run.log" 2> "$OUT/progress.txt"
rc=$?
echo "rc=$rc wall_s=$(python3 -c "import time; print(round(time.time() - $t0, 1))")" | tee -a "$OUT/machine.txt"
grep -E "^(▶|✓|✗|=|-) " "$OUT/progress.txt" | tail -40
tail -30 "$OUT/progress.txt" | grep -iE "error|Traceback|failed" | head
tar --exclude='models' --exclude='*.npz' --exclude='*.keras' -czf "$OUT/items.tgz" -C reports "${PROFILE:-full}" 2>/dev/null
ls -la "$OUT"
exit $rc
