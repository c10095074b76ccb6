import codecs
import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import fstab

from ...conftest import FIXTURES


def read(name):
    with open(os.path.join(FIXTURES, "fstab", name)) as handle:
        return handle.read()


def read_bytes(name):
    """A fixture's bytes. CR, tab, backslash and non-ASCII bytes are kept as Python escapes in ``<name>.escaped``
    (ansible-test's sanity wants LF-only UTF-8 files in the repository); its real line ends are for reading only."""
    path = os.path.join(FIXTURES, "fstab", name)
    if os.path.exists(path + ".escaped"):
        with open(path + ".escaped", "rb") as handle:
            return codecs.escape_decode(handle.read().replace(b"\n", b""))[0]
    with open(path, "rb") as handle:
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


# Files as other tools leave them: every byte we do not own comes back as it was.

NEW_DATA = b"UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11 /data ext4 noatime,nofail,x-systemd.device-timeout=10s 0 2"
TMPFS = {"path": "/tmp", "size": "10%", "mode": "1777", "opts": ["nosuid", "nodev"]}


def test_crlf_file_keeps_its_endings_and_added_lines_use_crlf():
    old = read_bytes("crlf.fstab")
    new, changes = fstab.plan(old, mounts=[DATA], noatime=["/scratch"])
    assert isinstance(new, bytes)
    assert new == old.replace(b"xfs\tdefaults\t0", b"xfs\tnoatime\t0") + NEW_DATA + b"\r\n"
    assert [c["action"] for c in changes] == ["add", "noatime"]
    again, changes = fstab.plan(new, mounts=[DATA], noatime=["/scratch"])
    assert (again, changes) == (new, [])


def test_replaced_line_keeps_its_own_crlf_ending():
    old = b"proc /proc proc defaults 0 0\nUUID=old /data ext4 defaults 0 2\r\n# end\n"
    new, dummy = fstab.plan(old, mounts=[DATA])
    assert new == b"proc /proc proc defaults 0 0\n" + NEW_DATA + b"\r\n# end\n"


def test_lone_cr_is_no_line_break_as_for_libmount():
    old = read_bytes("lone-cr.fstab")
    new, dummy = fstab.plan(old, noatime=["/scratch"])
    assert new == old.replace(b"/scratch xfs defaults", b"/scratch xfs noatime")
    # The entry with a lone CR inside is a parse error for findmnt: ours to refuse, never to rewrite.
    with pytest.raises(fstab.FstabError, match=r"line 3, the entry for /odd, holds a control character.*nothing was changed"):
        fstab.plan(old, noatime=["/odd"])


def test_latin1_bytes_pass_through_and_a_latin1_mount_point_matches():
    old = read_bytes("latin1.fstab")
    new, dummy = fstab.plan(old, noatime=["/scratch"], tmpfs=TMPFS)
    assert new == old.replace(b"xfs relatime", b"xfs noatime") + b"tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0\n"
    target = b"/srv/d\xe9p\xf4t".decode("utf-8", "surrogateescape")
    new, changes = fstab.plan(old, noatime=[target])
    assert new == old.replace(b"ext4 defaults", b"ext4 noatime")
    assert changes[0]["target"] == target


def test_octal_escapes_decode_byte_wise():
    assert fstab.unescape("/srv/caf\\303\\251") == "/srv/caf\u00e9"
    assert fstab.unescape("/my\\040disk") == "/my disk"
    assert fstab.escape("#a b\tc\\d\ne#") == "\\043a\\040b\\011c\\134d\\012e#"


def test_three_field_lines_are_entries_and_get_an_options_field_when_changed():
    old = read_bytes("three-field.fstab")
    new, changes = fstab.plan(old, noatime=["/scratch", "/proc"])
    assert new == old.replace(b"tmpfs\t/scratch\ttmpfs\n", b"tmpfs\t/scratch\ttmpfs\tnoatime\n").replace(
        b"proc /proc proc\n", b"proc /proc proc noatime\n")
    assert [c["line"] for c in changes] == ["tmpfs\t/scratch\ttmpfs\tnoatime", "proc /proc proc noatime"]
    assert fstab.plan(new, noatime=["/scratch", "/proc"]) == (new, [])


def test_two_field_lines_are_parse_errors_not_entries():
    old = b"tmpfs /tmp\n"
    new, changes = fstab.plan(old, tmpfs=TMPFS)
    assert new == old + b"tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0\n"


def test_same_filesystem_and_mount_point_written_another_way_is_the_same_entry():
    old = read_bytes("by-uuid.fstab")
    label = {"src": "LABEL=my data", "path": "/mnt/my data/", "fstype": "xfs"}
    new, changes = fstab.plan(old, mounts=[DATA, label], noatime=["/scratch/"])
    assert changes == [{"target": "/scratch", "action": "noatime", "old": "LABEL=scratch /scratch// xfs defaults 0 2",
                        "line": "LABEL=scratch /scratch// xfs noatime 0 2"}]
    assert new == old.replace(b"xfs defaults", b"xfs noatime")


@pytest.mark.parametrize("a, b", [
    ("UUID=0B6F4C7E-2d2f-4c55-9a57-0f4f6f0f1a11", "/dev/disk/by-uuid/0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11"),
    ('UUID="abcd-1234"', "UUID=ABCD-1234"),
    ("LABEL=my data", "/dev/disk/by-label/my\\x20data"),
    ("PARTUUID=1234ABCD-01", "/dev/disk/by-partuuid/1234abcd-01"),
    ("PARTLABEL=EFI", "/dev/disk//by-partlabel/EFI"),
])
def test_source_keys_that_name_the_same_filesystem(a, b):
    assert fstab.source_key(a) == fstab.source_key(b)


@pytest.mark.parametrize("a, b", [("LABEL=Data", "LABEL=data"), ("UUID=a", "PARTUUID=a"), ("/dev/sda1", "/dev/sdb1")])
def test_source_keys_that_differ(a, b):
    assert fstab.source_key(a) != fstab.source_key(b)


def test_entry_under_another_source_is_replaced_and_keeps_its_ending():
    old = b"LABEL=olddisk /data/ ext4 defaults 0 2\r\n"
    new, changes = fstab.plan(old, mounts=[DATA])
    assert new == NEW_DATA + b"\r\n"
    assert changes[0]["action"] == "replace"


def test_file_without_final_newline_ending_taken_from_first_line():
    new, dummy = fstab.plan(b"# x\r\nproc /proc proc defaults 0 0", mounts=[DATA])
    assert new == b"# x\r\nproc /proc proc defaults 0 0\r\n" + NEW_DATA + b"\r\n"
    assert fstab.plan(b"proc /proc proc defaults 0 0") == (b"proc /proc proc defaults 0 0", [])


# Requests that would write a wrong or unsafe line are refused, whole.

def refused(match, **request):
    with pytest.raises(fstab.FstabError, match=match) as err:
        fstab.plan(b"proc /proc proc defaults 0 0\n", **request)
    assert str(err.value).endswith("nothing was changed")
    return str(err.value)


@pytest.mark.parametrize("size", ["10%x", "16GB", " 16G", "16G ", "0", "0%", "101%", "-1G", "010%", "", "1.5G", None, True,
                                  "1", "16", 16, "1048575"])
def test_tmpfs_sizes_the_kernel_would_not_take_or_that_mean_no_limit_are_refused(size):
    refused("tmpfs size", tmpfs=dict(TMPFS, size=size))


@pytest.mark.parametrize("size", ["1048576", "100%", "1%", "16G", "512m", "2t", "1P", "1e", "64k"])
def test_tmpfs_sizes_the_kernel_takes(size):
    new, dummy = fstab.plan(b"", tmpfs=dict(TMPFS, size=size))
    assert new == ("tmpfs /tmp tmpfs nosuid,nodev,size=%s,mode=1777 0 0\n" % size).encode()


@pytest.mark.parametrize("mode, written", [("1777", "1777"), ("01777", "1777"), (0o1777, "1777"), ("700", "0700"), (448, "0700")])
def test_tmpfs_mode_string_is_octal_int_is_the_number_it_is(mode, written):
    new, dummy = fstab.plan(b"", tmpfs=dict(TMPFS, mode=mode))
    assert new.endswith(b",mode=" + written.encode() + b" 0 0\n")


@pytest.mark.parametrize("mode", ["1778", "rwx", "017777", 0o17777, -1, True, "0o755", ""])
def test_bad_modes_are_refused(mode):
    refused("mode", tmpfs=dict(TMPFS, mode=mode))
    refused("mode", mounts=[dict(DATA, mode=mode)])


def test_parse_mode_follows_ansible_file():
    assert fstab.parse_mode(1023) == 0o1777  # YAML 01777
    assert fstab.parse_mode("2775") == 0o2775
    assert fstab.parse_mode(None) is None


@pytest.mark.parametrize("opts", [["defaults", ""], ["a b"], ["x\n/dev/sda1 / ext4"], ["#x"], ["a,,b"], [",a"], ["a\tb"],
                                  ["x-systemd.requires=\x00"]])
def test_mount_options_that_could_inject_fields_are_refused(opts):
    refused("option", mounts=[dict(DATA, opts=opts)])
    refused("option", tmpfs=dict(TMPFS, opts=opts))


@pytest.mark.parametrize("fstype", ["ext4 defaults", "EXT4", "ext4\n", "", "#x", None, "x,y"])
def test_fstype_must_be_one_token(fstype):
    refused("fstype", mounts=[dict(DATA, fstype=fstype)])


@pytest.mark.parametrize("path", ["/data\n/x", "/da\tta", "relative", "/", "//", "/a/../b", "", None])
def test_mount_points_that_could_inject_lines_or_are_not_absolute_are_refused(path):
    refused("mount point", mounts=[dict(DATA, path=path)])


@pytest.mark.parametrize("src", ["UUID=a\n/dev/sda1", "#UUID=a", "/dev/sda1", "UUID=", "uuid=x", "LABEL=\t", None])
def test_sources_must_be_a_tag_or_a_by_path(src):
    refused("src", mounts=[dict(DATA, src=src)])


def test_spaces_in_sources_and_mount_points_are_escaped():
    new, dummy = fstab.plan(b"", mounts=[{"src": "LABEL=my data", "path": "/mnt/a b/", "fstype": "xfs"}])
    assert new == b"LABEL=my\\040data /mnt/a\\040b xfs noatime,nofail,x-systemd.device-timeout=10s 0 2\n"


@pytest.mark.parametrize("request_", [
    {"mounts": [DATA, dict(DATA, path="/data/")]},
    {"mounts": [DATA], "noatime": ["/data//"]},
    {"mounts": [dict(DATA, path="/tmp")], "tmpfs": TMPFS},
    {"noatime": ["/proc", "/proc/."]},
])
def test_the_same_mount_point_twice_in_a_request_is_refused(request_):
    refused("also asked for", **request_)


@pytest.mark.parametrize("timeout", ["10 s", "10s\n", "1min 30s", "x", "10s,ro"])
def test_device_timeouts_that_are_not_one_time_span_are_refused(timeout):
    refused("device_timeout", mounts=[DATA], device_timeout=timeout)


def test_every_problem_is_named_in_one_message():
    message = refused("fstype", mounts=[dict(DATA, fstype="EXT4", opts=["a b"], path="/x\n")], tmpfs=dict(TMPFS, size="0"))
    for part in ("mounts[0]", "fstype", "option", "mount point", "tmpfs size"):
        assert part in message
