#!/usr/bin/env bash
# The GPU checks in one go (well under 5 minutes on one GPU): the CUDA-vs-CPU equality
# tests of the step runner, then the throughput benchmark at 149, 1,000 and 10,000 seeds.
# Logs go to "$OUT" (or /tmp/rflr-gpu-check). Exit status: nonzero if either part failed.
#
#     bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
LOGS="${OUT:-/tmp/rflr-gpu-check}"
mkdir -p "$LOGS"
PY="${PYTHON:-python3}"

"$PY" - <<'PYEOF' 2>&1 | tee "$LOGS/env.log"
import platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
print("cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device:", p.name, f"{p.total_memory / 2**30:.0f} GiB")
PYEOF

echo "== tests (tests/test_runner.py: CUDA equality, no host sync, resume, divergence) =="
start=$(date +%s)
timeout 90 "$PY" -m pytest -p no:cacheprovider -q -rs tests/test_runner.py 2>&1 | tee "$LOGS/tests.log"
tests_rc=${PIPESTATUS[0]}
echo "tests: exit $tests_rc in $(( $(date +%s) - start )) s"

echo "== benchmark (benchmarks/train_throughput.py --device cuda) =="
start=$(date +%s)
timeout 125 "$PY" benchmarks/train_throughput.py --device cuda 2>&1 | tee "$LOGS/bench.log"
bench_rc=${PIPESTATUS[0]}
echo "benchmark: exit $bench_rc in $(( $(date +%s) - start )) s"

[ "$tests_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
