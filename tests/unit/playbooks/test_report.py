"""playbooks/report.yml run by ansible-playbook on two hosts of this machine (local connections): one row per host
with its drift from the inventory's pins, and with a jsonfile fact cache the row of a host outside the run's limit
shown from what the earlier run kept."""

import os
import subprocess
import sys

from ansible_collections.dlops.gpu.tests.unit.conftest import COLLECTIONS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
# CUDA 11.1 predates every toolkit this collection installs, so no test machine holds it.
INVENTORY = """
[gpus]
pinned ansible_connection=local cuda_toolkits='["11.1"]' cuda_default=11.1
plain ansible_connection=local
[all:vars]
ansible_python_interpreter={python}
"""


def report(tmp_path, *args, cache=False):
    (tmp_path / "inventory").write_text(INVENTORY.format(python=sys.executable))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp-local"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp-remote"), ANSIBLE_HOME=str(tmp_path / "home"))
    if cache:
        env.update(ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "inventory"),
            os.path.join(ROOT, "playbooks", "report.yml"), "-e", "dlops_gpu_report_dir=%s" % (tmp_path / "out")]
    proc = subprocess.run(argv + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    rows = [line for line in (tmp_path / "out" / "fleet.md").read_text().splitlines() if line.startswith("| ")]
    # The host's cell: its name, and "(cached from <time>)" for a row a fact cache kept.
    return dict((line.split(" | ")[0][2:].split(" (")[0], line) for line in rows[2:]), proc.stdout.decode()


def test_one_row_per_host_with_its_drift(tmp_path):
    rows, out = report(tmp_path)
    assert sorted(rows) == ["pinned", "plain"]
    assert "CUDA 11.1 missing" in rows["pinned"] and "pinned 11.1" in rows["pinned"]
    assert rows["plain"].endswith("| none |")
    assert "2 hosts, 0 with GPUs" in out and "1 drifting from their pins: pinned." in out
    assert (tmp_path / "out" / "fleet.html").read_text().count("<tr") >= 3


def test_with_a_fact_cache_a_host_outside_the_limit_shows_the_row_it_kept(tmp_path):
    first = report(tmp_path, "--limit", "pinned,localhost", cache=True)[0]
    assert sorted(first) == ["pinned"]
    second, out = report(tmp_path, "--limit", "plain,localhost", cache=True)
    assert sorted(second) == ["pinned", "plain"]
    assert "CUDA 11.1 missing" in second["pinned"] and "(cached from 20" in second["pinned"] and "cached" not in second["plain"]
    assert "1 not probed in this run, shown from the fact cache: pinned" in out
