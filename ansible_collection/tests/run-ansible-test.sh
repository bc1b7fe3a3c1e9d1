#!/usr/bin/env bash
# Runs ansible-test sanity and units on the vigil.cluster collection; exits non-zero on failure.
#
#   ansible_collection/tests/run-ansible-test.sh            # sanity + units
#   ansible_collection/tests/run-ansible-test.sh sanity     # or: units
#
# ansible-test needs the collection under a path ending in ansible_collections/NS/NAME, so
# this copies ansible_collection/ into a temporary tree and runs there.
#
# The tests run with --local --requirements inside a virtualenv of their own
# (ANSIBLE_TEST_VENV, default ~/.cache/vigil/ansible-test-venv): ansible-test installs its
# pinned tools (pylint, yamllint, voluptuous, pytest-xdist...) from PyPI the first time,
# without touching the Python that runs the project. Some sanity tests build further
# virtualenvs and bootstrap pip in them with a get-pip script downloaded from a host that
# only PyPI-reaching machines cannot reach; when that script is not cached, a stand-in is
# cached instead that bootstraps pip with ensurepip and installs the same pinned packages
# from PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
collection="$(cd "$here/.." && pwd)"
what="${1:-all}"
python_bin="${PYTHON:-python3}"
pyver="$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
core_version="$("$python_bin" -c 'import ansible.release as r; print(r.__version__)' 2>/dev/null \
    || echo 2.19.*)"
venv="${ANSIBLE_TEST_VENV:-$HOME/.cache/vigil/ansible-test-venv}"

if [[ ! -x "$venv/bin/ansible-test" ]] \
    || ! "$venv/bin/python" -c "import ansible.release as r, sys; sys.exit(r.__version__ != '$core_version')"; then
    echo "== preparing $venv (ansible-core $core_version)"
    "$python_bin" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "ansible-core==$core_version"
fi
export PATH="$venv/bin:$PATH"

pip_version="$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" \
    "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1)"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ -n "$pip_version" && ! -s "$get_pip" ]]; then
    mkdir -p "$(dirname "$get_pip")"
    cat > "$get_pip" <<'PY'
"""Stand-in for get-pip.py, written by vigil's run-ansible-test.sh: ensurepip, then pip."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vigil-ansible-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/vigil/cluster"
mkdir -p "$dest"
tar -C "$collection" --exclude=tests/output --exclude=__pycache__ --exclude='*.pyc' \
    --exclude='.pytest_cache' --exclude='*.tar.gz' -cf - . | tar -C "$dest" -xf -
# ansible-test lists the files to check with git when it can: a throwaway repository makes
# that list exactly the collection's files.
if command -v git >/dev/null 2>&1; then
    (cd "$dest" && git init -q && git add -A \
        && git -c user.name=ci -c user.email=ci@localhost commit -qm snapshot)
fi

status=0
cd "$dest"
if [[ "$what" == all || "$what" == sanity ]]; then
    echo "== ansible-test sanity (python $pyver)"
    ansible-test sanity --python "$pyver" --local --requirements --color no || status=1
fi
if [[ "$what" == all || "$what" == units ]]; then
    echo "== ansible-test units (python $pyver)"
    ansible-test units --python "$pyver" --local --requirements --color no || status=1
fi
if [[ "$status" == 0 ]]; then
    echo "ansible-test: all passed"
else
    echo "ansible-test: FAILED"
fi
exit "$status"
