# Source this on a GPU host that cannot reach the internet: it makes ansible-core
# importable from wheels carried in $DLOPS_WHEELS (default .device/wheels, made
# on a connected machine with `pip download ansible-core`) and puts this checkout
# on the collections path as dlops.gpu.
# Usage: . tests/gpu/bootstrap.sh
DLOPS_WHEELS=${DLOPS_WHEELS:-.device/wheels}
DLOPS_PY=${DLOPS_PY:-/tmp/dlops-py}
DLOPS_COLLECTIONS=${DLOPS_COLLECTIONS:-/tmp/dlops-collections}
if ! python3 -c 'import ansible' 2>/dev/null; then
  python3 - "$DLOPS_WHEELS" "$DLOPS_PY" <<'PY'
import glob, os, sys, zipfile
wheels, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
for wheel in sorted(glob.glob(os.path.join(wheels, "*.whl"))):
    zipfile.ZipFile(wheel).extractall(target)
PY
  export PYTHONPATH="$DLOPS_PY${PYTHONPATH:+:$PYTHONPATH}"
fi
mkdir -p "$DLOPS_COLLECTIONS/ansible_collections/dlops"
ln -sfn "$PWD" "$DLOPS_COLLECTIONS/ansible_collections/dlops/gpu"
export ANSIBLE_COLLECTIONS_PATH="$DLOPS_COLLECTIONS" ANSIBLE_HOME=/tmp/dlops-ansible-home \
  ANSIBLE_LOCAL_TEMP=/tmp/dlops-ansible-tmp ANSIBLE_REMOTE_TEMP=/tmp/dlops-ansible-tmp \
  ANSIBLE_CONFIG="$PWD/ansible.cfg"
ansible_playbook() { python3 -m ansible playbook "$@"; }
