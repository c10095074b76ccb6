#!/usr/bin/env bash
# make test's whole-fleet test: every command README.md shows, run as a user runs it, on the demo fleet
# (inventories/demo: two GPU stand-ins with real pins, a CPU host), with what each must show checked.
# tests/unit/test_readme.py checks that each README command appears here. Run by `make demo-test`, which
# sets the environment (PATH with .venv/bin, ANSIBLE_COLLECTIONS_PATH, the mirror).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=build/demo-test
rm -rf "$log" && mkdir -p "$log"
trap 'rm -rf "$log/checkout"; make -s demo-down >"$log/down.log" 2>&1' EXIT

fail() { echo "demo-test: $*" >&2; exit 1; }

# Every host of the run in the PLAY RECAP of log $1 reported changed=$2, failed=0 and unreachable=0.
recap() {
  python3 - "$@" <<'EOF'
import re, sys
log, changed = sys.argv[1], sys.argv[2]
text = open(log, encoding="utf-8").read().split("PLAY RECAP")[-1]
rows = dict(re.findall(r"^(\S+)\s+:\s+(ok=\d+.*)$", text, re.M))
hosts = {"localhost", "dlops-demo-ws01", "dlops-demo-node01", "dlops-demo-cpu01"}
if set(rows) != hosts:
    sys.exit("%s: recap lists %s, not %s" % (log, sorted(rows), sorted(hosts)))
for host, counts in sorted(rows.items()):
    c = dict(re.findall(r"(\w+)=(\d+)", counts))
    if c["failed"] != "0" or c["unreachable"] != "0" or (changed != "any" and c["changed"] != changed):
        sys.exit("%s: %s: %s (changed=%s expected)" % (log, host, counts, changed))
EOF
}

step() { echo "=== demo-test: $1"; }

step "make demo, the first time"
# The slowest tasks are listed at the end of the log (profile_tasks).
ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks make demo >"$log/demo-1.log" 2>&1 || { tail -40 "$log/demo-1.log"; fail "make demo failed: $log/demo-1.log"; }
recap "$log/demo-1.log" any

step "make demo again: changed=0 on every host"
make demo >"$log/demo-2.log" 2>&1 || { tail -40 "$log/demo-2.log"; fail "second make demo failed"; }
recap "$log/demo-2.log" 0

step "the fleet report lists every host with its pins met"
report=build/report/fleet.md
for host in dlops-demo-ws01 dlops-demo-node01 dlops-demo-cpu01; do
  grep -q "^| $host |.*| none |\$" "$report" || fail "$report: no row for $host without drift"
done
grep -q '^| dlops-demo-ws01 |.*12\.4.*12\.8' "$report" || fail "$report: ws01's row lacks its toolkits 12.4 and 12.8"

# The README's commands for a user's own fleet run in a copy of the checkout (nothing of this one is touched: a
# user's inventories/mysite and tarballs stay), with a virtualenv of its own and the collection installed from
# its tarball, which is what converges the demo fleet there. The copy shares this checkout's redist cache, the
# demo's key fingerprints and the report folder.
copy=$log/checkout
step "README: the virtualenv, the collection built and installed, in a copy of the checkout ($copy)"
mkdir -p "$copy/build"
git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - | tar -xf - -C "$copy"
for shared in redist-cache demo report; do ln -s "$PWD/build/$shared" "$copy/build/$shared"; done
mkdir -p build/report
(
  cd "$copy"
  export ANSIBLE_COLLECTIONS_PATH="$PWD/installed" ANSIBLE_HOME="$PWD/ansible-home"
  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt >pip.log
  export PATH="$PWD/.venv/bin:$PATH"
  ansible-galaxy collection build && ansible-galaxy collection install dlops-gpu-*.tar.gz
  test -f installed/ansible_collections/dlops/gpu/playbooks/site.yml || fail "the tarball did not install"
  test ! -L installed/ansible_collections/dlops/gpu || fail "the collection is a link, not the tarball's"
) >"$log/galaxy.log" 2>&1 || { tail -30 "$log/galaxy.log"; fail "the virtualenv or the collection failed"; }

# Run in the copy with its virtualenv and its installed collection.
in_copy() {
  (cd "$copy" && PATH="$PWD/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$PWD/installed" \
     ANSIBLE_HOME="$PWD/ansible-home" bash -euo pipefail -c "$1")
}

step "README: the fleet commands, with the demo fleet as the copy's inventories/mysite"
in_copy 'cp -r inventories/demo inventories/mysite'
in_copy 'ansible-playbook -i inventories/mysite playbooks/site.yml' >"$log/site.log" 2>&1 \
  || { tail -40 "$log/site.log"; fail "site.yml failed"; }
recap "$log/site.log" 0
grep -q "dlops.gpu.nvidia_driver : " "$log/site.log" || fail "$log/site.log: no role of the collection ran"
in_copy 'ansible-playbook -i inventories/mysite playbooks/site.yml --check --diff' >"$log/site-check.log" 2>&1 \
  || { tail -40 "$log/site-check.log"; fail "site.yml --check --diff failed"; }
recap "$log/site-check.log" 0

step "tests/README's drift example: the switch shown, the drift reported, nothing changed"
ansible-playbook -i inventories/demo playbooks/site.yml --check --diff -e cuda_default=12.4 -l dlops-demo-ws01,localhost \
  >"$log/drift.log" 2>&1 || { tail -40 "$log/drift.log"; fail "the drift example failed"; }
grep -qF -- '-/usr/local/cuda -> /usr/local/cuda-12.8' "$log/drift.log" || fail "$log/drift.log: no link diff"
grep -qF -- '+/usr/local/cuda -> /usr/local/cuda-12.4' "$log/drift.log" || fail "$log/drift.log: no link diff"
grep -qF '1 drifting from their pins: dlops-demo-ws01' "$log/drift.log" || fail "$log/drift.log: no drift summary"
grep -q '^| dlops-demo-ws01 |.*default CUDA 12.8, pinned 12.4' "$report" || fail "$report: no drift in ws01's row"
link=$(docker exec dlops-demo-ws01 readlink -f /usr/local/cuda)
[ "$link" = /usr/local/cuda-12.8 ] || fail "check mode changed /usr/local/cuda to $link"

# The community.docker pattern on the workstation (check with diff, real run, both again): the check run must
# name every change the real run makes, with the same diffs, judging each step by the state the steps before leave.
predict() {
  local name=$1 vars=$2
  step "check mode predicts the real run: $name"
  python3 tests/demo/check_predicts.py "$log/predict-$name" \
    --host dlops-demo-ws01 --host localhost --changes "$3" -- \
    ansible-playbook -i inventories/demo playbooks/site.yml -l dlops-demo-ws01,localhost -e "$vars" \
    || fail "check mode did not predict the real run ($name): $log/predict-$name"
}
# The last argument: how many tasks the real run must change at least. The mirror holds the runtime of 11.8, 12.4,
# 12.8 and 13.0 (which driver 535 cannot run), cuDNN for CUDA 12 and 13. First 11.8 is added, the default moved to
# 12.4 and the /tmp size changed; then the default goes back to 12.8 with the old default (12.4) pruned; last the
# inventory's pins again: 12.4 installed with cuDNN, 11.8 pruned.
predict add-a-toolkit '{"cuda_toolkits": ["12.4", "12.8", "11.8"], "cuda_default": "12.4", "storage_tuning_tmp_size": "20%"}' 4
predict prune-the-old-default '{"cuda_toolkits": ["12.8", "11.8"], "cuda_default": "12.8", "cuda_prune": true}' 3
predict back-to-the-pins '{"cuda_prune": true}' 4

step "site.yml through ansible-runner as AWX runs a job sliced in two (tests/runner/sliced.sh)"
bash tests/runner/sliced.sh >"$log/sliced.log" 2>&1 || { tail -30 "$log/sliced.log"; fail "the sliced job failed"; }

step "README: the roles' variables rendered by ansible-doc, installed and from the checkout"
for role in cuda nvidia_driver cudnn container_toolkit storage_tuning gpu_validate; do
  doc=$(in_copy "ansible-doc -t role dlops.gpu.$role")
  grep -q "dlops.gpu.$role" <<<"$doc" || fail "ansible-doc -t role dlops.gpu.$role rendered nothing"
done
doc=$(in_copy 'ansible-doc -t role dlops.gpu.cuda')
grep -q "cuda_toolkits" <<<"$doc" || fail "ansible-doc -t role dlops.gpu.cuda lacks cuda_toolkits"
doc=$(in_copy 'make collection && ANSIBLE_COLLECTIONS_PATH=build/collections .venv/bin/ansible-doc -t role dlops.gpu.cuda')
grep -q "cuda_toolkits" <<<"$doc" || fail "ansible-doc from the checkout lacks cuda_toolkits"

echo "demo-test: passed"
