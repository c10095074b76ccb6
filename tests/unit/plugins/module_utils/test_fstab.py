import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import fstab

from ...conftest import FIXTURES


def read(name):
    with open(os.path.join(FIXTURES, "fstab", name)) as handle:
        return handle.read()


DATA = {"src": "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "path": "/data", "fstype": "ext4"}


@pytest.mark.parametrize("name", ["ubuntu-server.fstab", "debian-workstation.fstab"])
def test_no_request_changes_nothing(name):
    text = read(name)
    new, changes = fstab.plan(text)
    assert new == text
    assert changes == []


@pytest.mark.parametrize("name", ["ubuntu-server.fstab", "debian-workstation.fstab"])
def test_adding_a_data_disk_keeps_every_other_line_byte_for_byte(name):
    text = read(name)
    new, changes = fstab.plan(text, mounts=[DATA])
    old_lines = text.splitlines()
    new_lines = new.splitlines()
    assert new_lines[: len(old_lines)] == old_lines
    assert new_lines[len(old_lines):] == [
        "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11 /data ext4 noatime,nofail,x-systemd.device-timeout=10s 0 2"]
    assert changes == [{"target": "/data", "action": "add", "line": new_lines[-1]}]


def test_plan_is_idempotent():
    text = read("debian-workstation.fstab")
    tmpfs = {"path": "/tmp", "size": "10%", "mode": "1777", "opts": ["nosuid", "nodev"]}
    once, dummy = fstab.plan(text, mounts=[DATA], noatime=["/", "/scratch"], tmpfs=tmpfs)
    twice, changes = fstab.plan(once, mounts=[DATA], noatime=["/", "/scratch"], tmpfs=tmpfs)
    assert twice == once
    assert changes == []


def test_noatime_changes_only_the_options_field():
    text = read("debian-workstation.fstab")
    new, changes = fstab.plan(text, noatime=["/", "/scratch"])
    old_lines, new_lines = text.splitlines(), new.splitlines()
    differing = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert differing == [
        ("UUID=9b0e1c2d-1111-4a2b-8c3d-0123456789ab /               ext4    errors=remount-ro,relatime 0       1",
         "UUID=9b0e1c2d-1111-4a2b-8c3d-0123456789ab /               ext4    errors=remount-ro,noatime 0       1"),
        ("LABEL=scratch\t/scratch\txfs\tdefaults,relatime\t0\t2",
         "LABEL=scratch\t/scratch\txfs\tnoatime\t0\t2"),
    ]
    assert [c["action"] for c in changes] == ["noatime", "noatime"]


def test_noatime_on_a_mount_point_fstab_does_not_have_fails_listing_entries():
    with pytest.raises(fstab.FstabError) as err:
        fstab.plan(read("debian-workstation.fstab"), noatime=["/datasets"])
    assert "/datasets" in str(err.value)
    assert "/scratch" in str(err.value)


def test_existing_entry_for_the_mount_point_is_replaced_not_duplicated():
    text = "UUID=old /data ext4 defaults,relatime 0 2\n"
    new, changes = fstab.plan(text, mounts=[DATA])
    assert new == "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11 /data ext4 noatime,nofail,x-systemd.device-timeout=10s 0 2\n"
    assert changes[0]["action"] == "replace"
    assert changes[0]["old"] == "UUID=old /data ext4 defaults,relatime 0 2"


def test_same_entry_with_options_in_another_order_is_left_alone():
    text = "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11  /data  ext4  nofail,noatime,x-systemd.device-timeout=10s  0  2\n"
    new, changes = fstab.plan(text, mounts=[DATA])
    assert new == text
    assert changes == []


def test_two_entries_for_one_mount_point_fail():
    text = "UUID=a /data ext4 defaults 0 2\nLABEL=b /data ext4 defaults 0 2\n"
    with pytest.raises(fstab.FstabError, match="2 entries for /data"):
        fstab.plan(text, mounts=[DATA])


def test_commented_entries_do_not_count():
    text = "#UUID=a /data ext4 defaults 0 2\n"
    new, changes = fstab.plan(text, mounts=[DATA])
    assert new.startswith("#UUID=a /data ext4 defaults 0 2\nUUID=0b6f")
    assert changes[0]["action"] == "add"


def test_label_sources_and_user_options_are_kept():
    mount = {"src": "LABEL=datasets", "path": "/mnt/my data", "fstype": "xfs",
             "opts": ["defaults", "inode64", "relatime"], "passno": 0}
    new, dummy = fstab.plan("", mounts=[mount], device_timeout="30s")
    assert new == "LABEL=datasets /mnt/my\\040data xfs inode64,noatime,nofail,x-systemd.device-timeout=30s 0 0\n"
    assert fstab.parse(new)[0]["target"] == "/mnt/my data"


def test_tmpfs_entry_and_size_validation():
    new, changes = fstab.plan("proc /proc proc defaults 0 0\n",
                              tmpfs={"path": "/tmp", "size": "16G", "mode": "1777", "opts": ["nosuid", "nodev"]})
    assert new.splitlines()[-1] == "tmpfs /tmp tmpfs nosuid,nodev,size=16G,mode=1777 0 0"
    assert changes[0]["action"] == "add"
    with pytest.raises(fstab.FstabError, match="not valid"):
        fstab.plan("", tmpfs={"path": "/tmp", "size": "lots", "mode": "1777", "opts": []})


def test_tmpfs_size_change_replaces_the_line():
    text = "tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0\n"
    new, changes = fstab.plan(text, tmpfs={"path": "/tmp", "size": "20%", "mode": "1777",
                                           "opts": ["nosuid", "nodev"]})
    assert new == "tmpfs /tmp tmpfs nosuid,nodev,size=20%,mode=1777 0 0\n"
    assert changes[0]["action"] == "replace"


def test_file_without_final_newline_gets_one():
    new, dummy = fstab.plan("proc /proc proc defaults 0 0", mounts=[DATA])
    assert new.endswith(" 0 2\n")
    assert new.startswith("proc /proc proc defaults 0 0\n")


VERIFY_OLD = """/boot/efi
   [E] unreachable source: PARTUUID=1234abcd-01: No such file or directory
proc
   [W] non-bind mount source /proc is a directory or regular file

0 parse errors, 1 error, 1 warning
"""

VERIFY_NEW = VERIFY_OLD.replace("0 parse errors, 1 error", "") + """/data
   [E] target does not exist: No such file or directory
/srv/x
   [E] unreachable on boot required source: UUID=abc
0 parse errors, 3 errors, 1 warning
"""


def test_verify_reports_only_errors_the_change_adds():
    problems = fstab.new_verify_errors(VERIFY_OLD, VERIFY_NEW, ignore_missing_targets=["/data"])
    assert problems == ["/srv/x: unreachable on boot required source: UUID=abc"]


def test_verify_counts_new_parse_errors():
    after = "findmnt: /etc/.fstab.x: parse error at line 3 -- ignored\n\n1 parse error, 0 errors, 0 warnings\n"
    assert fstab.new_verify_errors("0 parse errors, 0 errors, 0 warnings\n", after) == ["1 new parse error(s)"]


@pytest.mark.parametrize("state, changed, fstype, option, action", [
    (None, False, None, "noatime", "mount"),
    (("ext4", {"rw", "relatime"}), False, None, "noatime", "remount"),
    (("ext4", {"rw", "noatime"}), False, None, "noatime", None),
    (("ext4", {"rw", "noatime"}), True, None, "noatime", "remount"),
    (("ext4", {"rw"}), False, "tmpfs", None, "mount"),  # /tmp on the root disk: mount the tmpfs over it
    (("tmpfs", {"rw"}), False, "tmpfs", None, None),
    (("tmpfs", {"rw"}), True, "tmpfs", None, "remount"),  # new size
])
def test_mount_action(state, changed, fstype, option, action):
    assert fstab.mount_action(state, changed, fstype=fstype, option=option) == action
