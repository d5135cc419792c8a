#!/usr/bin/env bash
# Install every dependency at the minimum version pyproject.toml declares (">=X" -> "==X") in a fresh venv and run
# the tests: the floors are only true if this passes. Slow (downloads torch at its floor); run before a release or
# when a floor changes, not in every CI run.   usage: scripts/check_min_versions.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .venv-min
python3 -m venv .venv-min
. .venv-min/bin/activate
python -m pip install --upgrade pip
python - > .venv-min/constraints.txt <<'PY'
import re, sys
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
    match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([^,;\s]+)\s*(;.*)?$", spec)
    if match:
        print(f"{match.group(1)}=={match.group(2)}{match.group(3) or ''}")
PY
echo "+ pinned minimums:"; cat .venv-min/constraints.txt
pip install -c .venv-min/constraints.txt -e ".[test]"
python -m pytest -q "$@"
