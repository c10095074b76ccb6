"""The fleet playbook's outcome on each host."""


def test_tmp_tmpfs_entry(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "tmpfs /tmp tmpfs nosuid,nodev,size=25%,mode=1777 0 0" in lines


def test_gpu_facts_report_a_host_without_gpu(host):
    facts = host.ansible("dlops.gpu.gpu_facts", check=False)["ansible_facts"]["gpu"]
    assert facts["present"] is False
    assert facts["count"] == 0
    assert facts["driver"]["mismatch"] is False
    assert facts["toolkits"] == []
