#!/usr/bin/env bash
# Install every dependency at the minimum version pyproject.toml declares (">=X" -> "==X", direct dependencies and the
# test extra; their own dependencies resolve as usual) in a fresh venv, .venv-min, and run the tests: the floors are
# only true if this passes. Results of the last run: docs/dependencies.md.
#
# torch is the exception: it stays at the version CI installs (`pip install torch==...` in .ci/run; 2.13.0 now), or
# $TORCH_VERSION. Pinning it to its floor would download a multi-GB CUDA build of an old torch, which a CPU-only CI
# machine cannot use. torch's floor is argued from the code instead: `torch>=2.4` stays, as nothing outside FSDP calls
# an API newer than 2.4 (FSDP needs 2.6), but only the version installed here is ever tested (docs/dependencies.md).
#
# Slow (a fresh venv plus the whole suite: 32 min on 2 busy cores): run before a release or when a floor changes.
# CI runs it only when CHECK_MIN_VERSIONS=1 (.ci/run).     usage: scripts/check_min_versions.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
torch_version=${TORCH_VERSION:-$(sed -n 's/^pip install torch==\([^ ]*\).*$/\1/p' .ci/run | head -n 1)}
[ -n "$torch_version" ] || { echo "no 'pip install torch==X' line in .ci/run; set TORCH_VERSION"; exit 1; }
start=$(date +%s)
rm -rf .venv-min
python3 -m venv .venv-min
. .venv-min/bin/activate
python -m pip install --upgrade pip
python - "$torch_version" > .venv-min/constraints.txt <<'PY'
import re, sys
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print(f"torch=={sys.argv[1]}")
for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
    match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)\s*(;.*)?$", spec)
    if match and match.group(1).lower() != "torch":
        print(f"{match.group(1)}=={match.group(2)}{match.group(3) or ''}")
PY
echo "+ pinned minimums:"; cat .venv-min/constraints.txt
pip install torch=="$torch_version"
pip install -c .venv-min/constraints.txt -e ".[test]"
pinned=$(sed 's/[=;].*//' .venv-min/constraints.txt | paste -sd'|')
echo "+ installed:"; pip list --format=freeze | grep -iE "^($pinned)==" || true
set +e
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} python -m pytest -q "$@"
rc=$?
set -e
echo "+ check_min_versions: pytest exit $rc after $(( $(date +%s) - start )) s"
exit $rc
