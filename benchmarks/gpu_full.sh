#!/bin/bash
# `full` on a lent GPU machine (JAX + CUDA, no TensorFlow), in one device call, timed.
#
# Prepare here, once (both folders are git-ignored through .git/info/exclude, so the device
# tool carries them only when named):
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl keras==3.15.1 namex optree
#   mkdir -p .gpudata && cp ~/.cache/inf395-harness/mnist.npz .gpudata/
#   printf '/.whl/\n/.gpudata/\n' >> .git/info/exclude
# then, with the device tool:  run  command="BUDGET=470 bash benchmarks/gpu_full.sh"
#                                   carry=[".whl", ".gpudata"]
# BUDGET (s) stops the run before the call's limit so the logs still come back; JOBS is passed
# to `harness run --jobs` (default auto: up to 4 workers beside a GPU); PROFILE (default full)
# tries the script on a smaller profile. Outputs land in $OUT.
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
# No KERAS_BACKEND: the harness picks the backend that sees the GPU (harness/backends.py).
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "cpus $(nproc)"
  KERAS_BACKEND=jax python3 -c "import sys, jax, keras, numpy; print(sys.version.split()[0], 'jax', jax.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, jax.devices())"
  python3 -c "from harness.run.workers import parse_jobs; print('jobs', parse_jobs('${JOBS:-auto}'))"
  python3 -c "from harness import backends; from harness.train.hardware import nvidia_gpus; n = nvidia_gpus(); print('nvidia_gpus', n, 'chosen', backends.choose(n))"
  git log -1 --format='commit %h %s' 2>/dev/null
} 2>&1 | tee "$OUT/machine.txt"
T=""; [ -x /usr/bin/time ] && T="/usr/bin/time -v"
t0=$(date +%s.%N)
$T timeout "${BUDGET:-470}" python3 -m harness run --profile "${PROFILE:-full}" --jobs "${JOBS:-auto}" --data .gpudata/mnist.npz \
  > "$OUT/full.log" 2> "$OUT/progress.txt"
rc=$?
t1=$(date +%s.%N)
echo "rc=$rc wall_s=$(python3 -c "print(round($t1 - $t0, 1))")" | tee -a "$OUT/machine.txt"
grep -E "^(▶|✓|✗|=|-) " "$OUT/progress.txt" | tail -90
grep -E "Maximum resident|Elapsed" "$OUT/progress.txt"
cat "$OUT/full.log"
grep -m1 "^harness: Keras" "$OUT/progress.txt"
# Per item, then per unit (1.1i's, 1.2f's, 1.2h's trainings, each a task of its own): status, device,
# start time and wall seconds, so the log shows which ran side by side.
python3 -c "
import json, sys
m = json.load(open(sys.argv[1]))
print('backend', m['environment']['backend'], m['environment']['accelerators'], 'native_bf16', m['environment']['native_bf16'])
for i, e in m['items'].items():
    print(i, e.get('status'), e.get('device'), e.get('started'), (e.get('timing') or {}).get('wall_s'))
    for key, u in (e.get('units') or {}).items():
        print('   ', key, u['status'], u.get('device'), u.get('started'), (u.get('timing') or {}).get('wall_s'))
" "reports/${PROFILE:-full}/manifest.json" | tee "$OUT/devices.txt"
cp "reports/${PROFILE:-full}/manifest.json" "$OUT/" 2>/dev/null
tar --exclude='models' --exclude='*.npz' --exclude='*.npy' -czf "$OUT/${PROFILE:-full}-items.tgz" -C reports "${PROFILE:-full}" 2>/dev/null
exit $rc
