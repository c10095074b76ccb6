"""The fleet playbook's outcome on each host."""


def test_tmp_tmpfs_entry(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "tmpfs /tmp tmpfs nosuid,nodev,size=25%,mode=1777 0 0" in lines
