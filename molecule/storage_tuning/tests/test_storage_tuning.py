"""What a user sees after storage_tuning: live mounts, fstab lines, ownership."""

import os

SEED = os.path.join(os.path.dirname(__file__), os.pardir, "files", "fstab.seed")


def _uuid(host):
    return host.ansible.get_variables()["storage_tuning_test_uuid"]


def test_data_disk_is_mounted_by_uuid_with_noatime(host):
    out = host.check_output("findmnt -n -o SOURCE,FSTYPE,OPTIONS --target /data")
    source, fstype, options = out.split()
    assert source.startswith("/dev/loop")
    assert fstype == "ext4"
    assert "noatime" in options.split(",")
    assert host.check_output("blkid -c /dev/null -s UUID -o value %s" % source) == _uuid(host)


def test_fstab_line_for_data_disk(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    expected = "UUID=%s /data ext4 noatime,nofail,x-systemd.device-timeout=10s 0 2" % _uuid(host)
    assert lines.count(expected) == 1


def test_mount_point_owner_and_mode_on_mounted_filesystem(host):
    data = host.file("/data")
    assert data.user == "nobody"
    assert data.group == "users"
    assert data.mode == 0o2775
    # The mounted filesystem's root, not the directory underneath.
    assert host.file("/data/lost+found").is_directory


def test_tmp_tmpfs_entry_waits_for_next_boot(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0" in lines
    # Not mounted now unless asked: the live /tmp still shows the file that
    # prepare.yml left there, so running programs keep theirs.
    assert host.file("/tmp/dlops-test-marker").exists


def test_noatime_on_existing_entry_changes_only_its_options_field(host):
    lines = host.file("/etc/fstab").content_string.splitlines()
    assert "tmpfs   /scratch    tmpfs   rw,size=64m,noatime   0   0" in lines
    options = host.check_output("findmnt -n -o OPTIONS /scratch").split(",")
    assert "noatime" in options
    assert "relatime" not in options


def test_other_lines_are_kept_byte_for_byte(host):
    with open(SEED) as handle:
        seeded = handle.read().splitlines()
    current = host.file("/etc/fstab").content_string.splitlines()
    new_scratch = "tmpfs   /scratch    tmpfs   rw,size=64m,noatime   0   0"
    expected = [new_scratch if "/scratch" in line else line for line in seeded]
    assert current[: len(expected)] == expected
    added = current[len(expected):]
    assert sorted(line.split()[1] for line in added) == ["/data", "/tmp"]


def test_old_fstab_was_backed_up(host):
    listing = host.check_output("ls -1 /etc").splitlines()
    assert any(name.startswith("fstab.") and name.endswith("~") for name in listing)


def test_managed_entries_pass_findmnt_verify(host):
    out = host.run("findmnt --verify --tab-file /etc/fstab").stdout
    failing, target = set(), None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            target = line.strip()
        elif "[E]" in line:
            failing.add(target)
    assert "/data" not in failing
    assert "/tmp" not in failing


def test_symlinked_fstab_stays_a_link_to_its_crlf_target(host):
    # side_effect.yml made /etc/fstab a link to a CRLF copy and ran the role through it twice.
    link = host.file("/etc/fstab")
    assert link.is_symlink
    assert link.linked_to == "/etc/alt/fstab"
    raw = host.file("/etc/alt/fstab").content
    assert raw.count(b"\n") == raw.count(b"\r\n") > 10
    assert b"tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0\r\n" in raw
    assert not any(name.startswith(".dlops-") or name.startswith(".fstab.") for name in host.check_output(
        "ls -1a /etc /etc/alt").splitlines())


def test_real_findmnt_reads_the_crlf_fstab_through_the_link(host):
    targets = host.check_output("findmnt --fstab -n -o TARGET").splitlines()
    for target in ("/data", "/tmp", "/scratch", "/mnt/with space", "/boot/efi"):
        assert target in targets
    summary = host.run("findmnt --verify").stderr.strip().splitlines()[-1]
    assert summary.startswith("0 parse errors,"), summary
