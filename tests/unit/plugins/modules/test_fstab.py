"""fstab module main() against a temporary root: exact bytes written, symlinks kept, refusals change nothing."""

import json
import os
import subprocess

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.dlops.gpu.plugins.modules import fstab as module

CRLF = (b"# written on Windows\r\n"
        b"UUID=9b0e1c2d-1111-4a2b-8c3d-0123456789ab / ext4 errors=remount-ro 0 1\r\n"
        b"tmpfs\t/scratch\ttmpfs\trelatime,size=64m\t0\t0\r\n")
CRLF_AFTER = (b"# written on Windows\r\n"
              b"UUID=9b0e1c2d-1111-4a2b-8c3d-0123456789ab / ext4 errors=remount-ro 0 1\r\n"
              b"tmpfs\t/scratch\ttmpfs\tsize=64m,noatime\t0\t0\r\n"
              b"tmpfs /tmp tmpfs nosuid,nodev,size=10%,mode=1777 0 0\r\n")


def snapshot(root):
    """Every path under ``root`` with its bytes (or link target): what a run may or may not change."""
    tree = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                tree[path] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    tree[path] = ("file", handle.read())
            else:
                tree[path] = ("dir", None)
    return tree


def run(capsys, tmp_path, **args):
    args.setdefault("remount_noatime", False)
    args.setdefault("_ansible_remote_tmp", str(tmp_path / "remote"))
    args.setdefault("_ansible_keep_remote_files", False)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def root(tmp_path):
    """etc/fstab -> alt/fstab (relative link), the real file CRLF."""
    etc = tmp_path / "root" / "etc"
    (etc / "alt").mkdir(parents=True)
    (etc / "alt" / "fstab").write_bytes(CRLF)
    os.symlink("alt/fstab", str(etc / "fstab"))
    return etc


REQUEST = {"noatime": ["/scratch/"], "tmpfs": {"size": "10%"}}


def test_symlinked_crlf_fstab_changes_at_its_target_and_stays_a_link(capsys, tmp_path, root):
    result = run(capsys, tmp_path, path=str(root / "fstab"), **REQUEST)
    assert result["changed"] is True, result
    assert os.readlink(str(root / "fstab")) == "alt/fstab"
    assert (root / "alt" / "fstab").read_bytes() == CRLF_AFTER
    # The backup is of the real file, beside it; no temporary file is left anywhere.
    backup = result["backup_file"]
    assert os.path.dirname(backup) == str(root / "alt")
    with open(backup, "rb") as handle:
        assert handle.read() == CRLF
    assert sorted(os.listdir(str(root))) == ["alt", "fstab"]
    assert sorted(os.listdir(str(root / "alt"))) == sorted(["fstab", os.path.basename(backup)])
    assert [c["action"] for c in result["changes"]] == ["noatime", "add"]
    again = run(capsys, tmp_path, path=str(root / "fstab"), **REQUEST)
    assert again["changed"] is False and again["changes"] == []


def test_check_mode_predicts_the_real_run_and_writes_nothing(capsys, tmp_path, root):
    before = snapshot(root)
    check = run(capsys, tmp_path, path=str(root / "fstab"), _ansible_check_mode=True, _ansible_diff=True, **REQUEST)
    assert snapshot(root) == before
    real = run(capsys, tmp_path, path=str(root / "fstab"), _ansible_diff=True, **REQUEST)
    assert check["changed"] and real["changed"]
    assert check["changes"] == real["changes"]
    assert check["diff"]["after"] == real["diff"]["after"] == CRLF_AFTER.decode()


def test_latin1_bytes_survive_a_real_write(capsys, tmp_path):
    path = tmp_path / "fstab"
    old = b"# Caf\xe9\n/dev/sdb1 /srv/d\xe9p\xf4t ext4 defaults 0 2\nLABEL=scratch /scratch xfs defaults 0 2\n"
    path.write_bytes(old)
    result = run(capsys, tmp_path, path=str(path), noatime=["/scratch"], _ansible_diff=True)
    assert result["changed"], result
    assert path.read_bytes() == old.replace(b"xfs defaults", b"xfs noatime")
    assert "Caf\ufffd" in result["diff"]["before"]


@pytest.mark.parametrize("args, message", [
    ({"tmpfs": {"size": "10%x"}}, "tmpfs size '10%x' is not valid"),
    ({"tmpfs": {"size": "0"}}, "tmpfs size '0' is not valid"),
    ({"tmpfs": {"size": "10%", "opts": ["nosuid", "x y"]}}, "option 'x y' holds a blank"),
    ({"tmpfs": {"size": "10%", "mode": "1778"}}, "tmpfs mode '1778' is not an octal mode"),
    ({"noatime": ["/scratch", "/scratch/"]}, "also asked for"),
    ({"noatime": ["/nowhere"]}, "no entry for it"),
    ({"mounts": [{"src": "UUID=a", "path": "/srv/a\nb", "fstype": "ext4"}]}, "control character"),
    ({"mounts": [{"src": "UUID=a", "path": "/srv/a", "fstype": "ext4", "owner": "no-such-user-x",
                  "group": "no-such-group-y"}]}, "no user no-such-user-x (for /srv/a)"),
    ({"mounts": [{"src": "UUID=a", "path": "/srv/a", "fstype": "ext4", "group": "no-such-group-y"}]},
     "no group no-such-group-y (for /srv/a)"),
])
def test_refusals_name_the_problem_and_change_nothing(capsys, tmp_path, root, args, message):
    before = snapshot(tmp_path)
    result = run(capsys, tmp_path, path=str(root / "fstab"), **args)
    assert result.get("failed"), result
    assert message in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert str(root / "fstab") in result["msg"] or "noatime was asked" in result["msg"]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("check_mode", [False, True])
def test_immutable_fstab_fails_before_any_backup_or_temp_file(capsys, tmp_path, root, check_mode):
    real = str(root / "alt" / "fstab")
    if subprocess.call(["chattr", "+i", real], stderr=subprocess.DEVNULL) != 0:
        pytest.skip("chattr +i needs root on a filesystem with inode flags")
    try:
        before = snapshot(tmp_path)
        result = run(capsys, tmp_path, path=str(root / "fstab"), _ansible_check_mode=check_mode, **REQUEST)
        after = snapshot(tmp_path)
    finally:
        subprocess.call(["chattr", "-i", real])
    assert result.get("failed"), result
    assert "is immutable" in result["msg"] and "chattr -i" in result["msg"] and "nothing was changed" in result["msg"]
    assert after == before


def test_data_mount_by_uuid_matches_an_existing_by_uuid_line(capsys, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    path = tmp_path / "fstab"
    old = ("/dev/disk/by-uuid/0B6F4C7E-2D2F-4C55-9A57-0F4F6F0F1A11 %s/ ext4 noatime,nofail,x-systemd.device-timeout=10s 0 2\n"
           % data).encode()
    path.write_bytes(old)
    monkeypatch.setattr(module, "blkid_filesystems", lambda mod: [
        {"DEVNAME": "/dev/loop0", "UUID": "0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "TYPE": "ext4"}])
    mount = {"src": "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "path": str(data), "fstype": "ext4", "mount": False,
             "mode": 0o2775}
    result = run(capsys, tmp_path, path=str(path), mounts=[mount], _ansible_check_mode=True)
    assert result["changes"] == [], result
    assert path.read_bytes() == old
    assert result["changed"] is True  # only the mode of the mount point differs


def blkid_of_one_disk(monkeypatch):
    monkeypatch.setattr(module, "blkid_filesystems", lambda mod: [
        {"DEVNAME": "/dev/loop0", "UUID": "0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "TYPE": "ext4"}])
    return {"src": "UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "fstype": "ext4", "mount": False}


@pytest.mark.parametrize("kind", ["file", "dangling link"])
def test_a_mount_point_that_is_not_a_folder_is_refused_before_fstab_changes(capsys, tmp_path, monkeypatch, kind):
    mount = blkid_of_one_disk(monkeypatch)
    point = tmp_path / "data"
    if kind == "file":
        point.write_bytes(b"")
    else:
        point.symlink_to("gone/data")
    (tmp_path / "fstab").write_bytes(b"# empty\n")
    before = snapshot(tmp_path)
    result = run(capsys, tmp_path, path=str(tmp_path / "fstab"), mounts=[dict(mount, path=str(point))])
    assert result.get("failed") and "nothing was changed" in result["msg"], result
    assert "not a folder" in result["msg"] or "does not exist" in result["msg"] or "is a file" in result["msg"]
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a link of another user takes root")
def test_a_mount_point_through_a_link_another_user_planted_is_refused(capsys, tmp_path, monkeypatch):
    mount = blkid_of_one_disk(monkeypatch)
    victim = tmp_path / "victim"
    victim.mkdir()
    os.chmod(str(victim), 0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    (shared / "data").symlink_to(str(victim))
    os.lchown(str(shared / "data"), 65534, 65534)
    (tmp_path / "fstab").write_bytes(b"# empty\n")
    before = snapshot(tmp_path)
    result = run(capsys, tmp_path, path=str(tmp_path / "fstab"),
                 mounts=[dict(mount, path=str(shared / "data"), mode="1777", owner="nobody")])
    assert result.get("failed") and "owned by uid 65534" in result["msg"], result
    assert snapshot(tmp_path) == before
    assert os.stat(str(victim)).st_mode & 0o7777 == 0o700
