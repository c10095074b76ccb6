#!/usr/bin/env bash
# site.yml on the demo fleet (make demo first) as AWX runs a job template sliced into 2: each slice job goes
# through ansible-runner with its share of the sorted host list (slice k of n: hosts k-1, k-1+n, ...), one job
# after the other, and AWX's fact store, which carries each host's facts from job to job, stands here as one
# jsonfile fact cache that every job's env/settings names. AWX hands a slice job an inventory of its hosts only,
# where the report's localhost play runs on the implicit localhost; here the slice is a --limit on the whole
# inventory, so localhost is named in it.
# Checked: each job is `successful` and ran on its slice's hosts only, each probing them once; the first slice's
# report lists its own hosts (nothing kept yet), the last one's lists every host, the first slice's marked as
# cached with the rows the first slice wrote; then report.yml alone, whose facts for those hosts all come from
# the cache, probes them again and shows them fresh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
PATH="$root/.venv/bin:$PATH"
pdd=$root/build/runner
slices=2

fail() { echo "runner/sliced: $*" >&2; exit 1; }
step() { echo "=== runner/sliced: $1"; }

for name in dlops-demo-ws01 dlops-demo-node01 dlops-demo-cpu01; do
  [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] \
    || fail "container $name is not running: run make demo first"
done
make -s collection

rm -rf "$pdd" && mkdir -p "$pdd/env"
# A value for the YAML files below, quoted as JSON (which YAML reads), so that any checkout path stays one value.
q() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
# What an execution environment sets; the Makefile sets the same for ansible-playbook.
cat >"$pdd/env/envvars" <<EOF
ANSIBLE_COLLECTIONS_PATH: $(q "$root/build/collections")
ANSIBLE_CONFIG: $(q "$root/ansible.cfg")
ANSIBLE_HOME: $(q "$root/build/ansible-home")
ANSIBLE_LOCAL_TEMP: $(q "$root/build/ansible-tmp")
ANSIBLE_REMOTE_TEMP: /tmp/.ansible-dlops
DLOPS_MIRROR_PORT: "${DLOPS_MIRROR_PORT:-8765}"
EOF
# ansible-runner puts a relative fact_cache under each job's artifacts; an absolute one is shared by the jobs.
cat >"$pdd/env/settings" <<EOF
fact_cache_type: jsonfile
fact_cache: $(q "$pdd/fact_cache")
EOF
cat >"$pdd/env/extravars" <<EOF
dlops_gpu_report_dir: $(q "$pdd/report")
EOF
report=$pdd/report/fleet.md

mapfile -t hosts < <(ansible-inventory -i inventories/demo --list \
  | python3 -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin)["_meta"]["hostvars"])))')
[ "${#hosts[@]}" = 3 ] || fail "inventories/demo lists ${hosts[*]}, not three hosts"

# Run playbook $2 as job $1 on the hosts named after it (and localhost, for the report).
job() {
  local ident=$1 playbook=$2 limit
  shift 2
  limit=$(IFS=,; echo "$*,localhost")
  ansible-runner run "$pdd" -p "$playbook" --project-dir "$root/playbooks" --inventory "$root/inventories/demo" \
    --limit "$limit" -i "$ident" >"$pdd/$ident.log" 2>&1 \
    || { rc=$?; tail -40 "$pdd/$ident.log"; fail "job $ident: ansible-runner exited $rc"; }
}

# Job $1 is `successful` and touched the hosts named after it and localhost only; the task named $2 ran (not
# skipped) on each of those hosts and the one named $3 (if any) was skipped on each.
check_job() {
  python3 - "$pdd/artifacts" "$@" <<'EOF'
import glob, json, os, re, sys
artifacts, ident, ran, skipped, *hosts = sys.argv[1:]
folder = os.path.join(artifacts, ident)
status = open(os.path.join(folder, "status")).read().strip()
rc = open(os.path.join(folder, "rc")).read().strip()
if (status, rc) != ("successful", "0"):
    sys.exit("job %s: status %s, rc %s" % (ident, status, rc))
events = [json.load(open(p)) for p in glob.glob(os.path.join(folder, "job_events", "*.json"))]
stats = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
if len(stats) != 1:
    sys.exit("job %s: %d playbook_on_stats events" % (ident, len(stats)))
want = set(hosts) | {"localhost"}
if set(stats[0]["processed"]) != want:
    sys.exit("job %s: ran on %s, not %s" % (ident, sorted(stats[0]["processed"]), sorted(want)))
if stats[0]["failures"] or stats[0]["dark"]:
    sys.exit("job %s: failed %s, unreachable %s" % (ident, stats[0]["failures"], stats[0]["dark"]))
# The job's stdout is a terminal's, in colour, as AWX shows it.
recap = re.sub(r"\x1b\[[0-9;]*m", "", open(os.path.join(folder, "stdout")).read()).split("PLAY RECAP")[-1]
if set(re.findall(r"^(\S+)\s+: ok=", recap, re.M)) != want:
    sys.exit("job %s: PLAY RECAP lists %s" % (ident, recap))
def outcome(task):
    return dict((e["event_data"]["host"], e["event"]) for e in events
                if e.get("event_data", {}).get("task") == task and e["event"] in (
                    "runner_on_ok", "runner_on_skipped", "runner_on_failed", "runner_on_unreachable"))
for task, expected in ((ran, "runner_on_ok"), (skipped, "runner_on_skipped")):
    if task and outcome(task) != dict((h, expected) for h in hosts):
        sys.exit("job %s: %r: %s, not %s on %s" % (ident, task, outcome(task), expected, hosts))
EOF
}

site_probe="Probe GPUs, driver and CUDA toolkits"
report_probe="Probe GPUs, driver and CUDA toolkits, unless this run already did"

# The report's row of host $1 in $2 (the host cell, with a cached mark, then the other cells).
row() { grep "^| $1 \(|\|(cached from \)" "$2" || true; }
cells() { row "$1" "$2" | sed 's/^| [^|]* |//'; }

declare -A share
for ((k = 1; k <= slices; k++)); do
  mine=()
  for ((i = k - 1; i < ${#hosts[@]}; i += slices)); do mine+=("${hosts[i]}"); done
  share[$k]="${mine[*]}"
  step "slice $k of $slices: site.yml on ${mine[*]}"
  job "slice$k" site.yml "${mine[@]}"
  check_job "slice$k" "$site_probe" "$report_probe" "${mine[@]}" || fail "slice $k: see $pdd/slice$k.log"
  cp "$report" "$pdd/fleet-slice$k.md"
done
read -r -a first <<<"${share[1]}"
read -r -a last <<<"${share[$slices]}"
[ "${first[*]}" = "${hosts[0]} ${hosts[2]}" ] && [ "${last[*]}" = "${hosts[1]}" ] \
  || fail "slices ${share[*]} of ${hosts[*]}: not hosts 0, 2 and 1"

step "slice 1's report: its own hosts, fresh; nothing kept yet for slice 2's"
for host in "${first[@]}"; do
  row "$host" "$pdd/fleet-slice1.md" | grep -q "^| $host | " || fail "fleet-slice1.md: no fresh row for $host"
done
for host in "${last[@]}"; do
  [ -z "$(row "$host" "$pdd/fleet-slice1.md")" ] || fail "fleet-slice1.md lists $host, which slice 1 did not run on"
done
grep -qx "2 hosts; .* drifting from their pins." "$pdd/fleet-slice1.md" || fail "fleet-slice1.md: not 2 hosts"

step "the last slice's report: every host, slice 1's marked cached with the rows slice 1 wrote"
grep -qx "3 hosts; .* drifting from their pins; 2 not probed in this run, shown from the fact cache." "$report" \
  || fail "$report: its summary does not count 3 hosts, 2 of them cached"
for host in "${first[@]}"; do
  row "$host" "$report" | grep -q "^| $host (cached from 20[0-9][0-9]-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9] UTC) |" \
    || fail "$report: $host not marked cached: $(row "$host" "$report")"
  [ "$(cells "$host" "$report")" = "$(cells "$host" "$pdd/fleet-slice1.md")" ] \
    || fail "$report: $host's cached row is not the one slice 1 wrote"
  grep -q "<td>$host <span class=\"cached\">cached from " "$pdd/report/fleet.html" \
    || fail "fleet.html: $host not marked cached"
done
for host in "${last[@]}"; do
  row "$host" "$report" | grep -q "^| $host | " || fail "$report: no fresh row for $host"
done

step "report.yml alone on slice 1's hosts: their ansible_facts.gpu come from the cache, and they are probed again"
job report1 report.yml "${first[@]}"
check_job report1 "$report_probe" "" "${first[@]}" || fail "report.yml: see $pdd/report1.log"
for host in "${first[@]}"; do
  row "$host" "$report" | grep -q "^| $host | " || fail "$report: $host is not fresh after report.yml probed it"
done
for host in "${last[@]}"; do
  row "$host" "$report" | grep -q "^| $host (cached from " || fail "$report: $host not shown as cached"
done

echo "runner/sliced: passed"
