#!/usr/bin/env bash
# ansible-test bootstraps pip in its virtualenvs with a get-pip script that it
# downloads from outside PyPI. Put a stand-in in its cache that installs pip
# from the pip wheel (fetched from the package index like any dependency).
set -euo pipefail
pip_version=${1:-24.2}
cache="$HOME/.ansible/test/cache"
script="$cache/get_pip_${pip_version//./_}.py"
wheel="$cache/pip-$pip_version-py3-none-any.whl"
mkdir -p "$cache"
[ -f "$wheel" ] || pip download -q --no-deps --only-binary=:all: -d "$cache" "pip==$pip_version"
cat > "$script" <<PY
"""Offline stand-in for get-pip.py: installs pip $pip_version from the wheel beside it."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pip-$pip_version-py3-none-any.whl"))
from pip._internal.cli.main import main  # noqa: E402

ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--find-links", HERE] + ARGS))
PY
