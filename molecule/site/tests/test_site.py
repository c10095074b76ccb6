"""The fleet playbook's outcome on each host."""

import os


def test_tmp_tmpfs_entry(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "tmpfs /tmp tmpfs nosuid,nodev,size=25%,mode=1777 0 0" in lines


def test_gpu_facts_report_a_host_without_gpu(host):
    facts = host.ansible("dlops.gpu.gpu_facts", check=False)["ansible_facts"]["gpu"]
    assert facts["present"] is False
    assert facts["count"] == 0
    assert facts["driver"]["mismatch"] is False
    assert facts["toolkits"] == []


def test_fleet_report_lists_each_host(host):
    report = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "report")
    with open(os.path.join(report, "fleet.md")) as handle:
        rows = [line for line in handle if line.startswith("| debian")]
    name = host.backend.get_hostname()
    row = [r for r in rows if r.startswith("| %s |" % name)]
    assert len(row) == 1
    cells = [cell.strip() for cell in row[0].strip().strip("|").split("|")]
    assert cells[1] == "none"  # GPUs
    assert cells[-1] == "none"  # drift: nothing is pinned
    with open(os.path.join(report, "fleet.html")) as handle:
        assert "<td>%s</td>" % name in handle.read()
