"""Check mode predicts the real run, in the community.docker pattern: `--check --diff`, the real run, both again.

    check_predicts.py LOG_DIR --host HOST... [--changes N] -- ansible-playbook ARGS...

The check run and the real run must change the same tasks on the same hosts, the same loop items with the same
diffs, and the two repeats must change nothing. Every HOST must be in each run's recap, and the real run must
change at least N tasks (default 1: a scenario that changes nothing proves nothing). Results come from the
ansible.posix.json callback; a failed or unreachable host fails the comparison. Prints what differs and exits 1,
or prints the changed tasks and exits 0.
"""

import argparse
import json
import os
import subprocess
import sys


def run(log_dir, name, argv, hosts):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    with open(os.path.join(log_dir, name + ".json"), "wb") as handle:
        handle.write(proc.stdout)
    try:
        report = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        sys.exit("%s: no JSON from ansible-playbook (rc %d): %s" % (
            name, proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:]))
    bad = dict((h, s) for h, s in report["stats"].items() if s.get("failures") or s.get("unreachable"))
    if proc.returncode or bad:
        sys.exit("%s: rc %d, failed or unreachable: %s (see %s.json)" % (name, proc.returncode, sorted(bad), name))
    absent = sorted(set(hosts) - set(report["stats"]))
    if absent:
        sys.exit("%s: %s not in the run's recap (see %s.json)" % (name, ", ".join(absent), name))
    return changes(report)


def changes(report):
    """{(host, task name): [(loop item, diff), ...]} of every changed task result, in order."""
    found = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                items = result.get("results") if isinstance(result.get("results"), list) else [result]
                changed = [item for item in items if isinstance(item, dict) and item.get("changed")]
                if not changed and not result.get("changed"):
                    continue
                entries = []
                for item in changed or [result]:
                    label = item.get("_ansible_item_label", item.get("item"))
                    diff = item.get("diff") or []
                    entries.extend((label, d) for d in (diff if isinstance(diff, list) else [diff]))
                    if not diff:
                        entries.append((label, None))
                found.setdefault((host, task["task"]["name"]), []).extend(entries)
    return found


def main(argv):
    if "--" not in argv:
        sys.exit("usage: check_predicts.py LOG_DIR --host HOST... [--changes N] -- ansible-playbook ARGS...")
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("log_dir")
    parser.add_argument("--host", action="append", default=[], required=True)
    parser.add_argument("--changes", type=int, default=1)
    args = parser.parse_args(argv[1:split])
    command = argv[split + 1:]
    os.makedirs(args.log_dir, exist_ok=True)
    check = run(args.log_dir, "check", command + ["--check", "--diff"], args.host)
    real = run(args.log_dir, "real", command + ["--diff"], args.host)
    problems = []
    if len(real) < args.changes:
        problems.append("the real run changed %d tasks, fewer than the %d this scenario makes" % (
            len(real), args.changes))
    for key in sorted(set(check) | set(real)):
        where = "%s: %s" % key
        if key not in real:
            problems.append("%s: changed in check mode only" % where)
        elif key not in check:
            problems.append("%s: changed in the real run only (check mode did not predict it)" % where)
        elif check[key] != real[key]:
            problems.append("%s: check mode's changes %s differ from the real run's %s" % (
                where, json.dumps(check[key], sort_keys=True)[:600], json.dumps(real[key], sort_keys=True)[:600]))
    for name, flags in (("check-again", ["--check", "--diff"]), ("real-again", ["--diff"])):
        again = run(args.log_dir, name, command + flags, args.host)
        problems.extend("%s: %s: changed again on a converged host (%s)" % (key + (name,)) for key in sorted(again))
    if problems:
        print("\n".join(problems))
        return 1
    print("check mode predicted every change: %s" % ", ".join("%s: %s" % key for key in sorted(real)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
