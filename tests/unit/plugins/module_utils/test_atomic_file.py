"""atomic_file: the one way a file is replaced on a host (links followed, failures leave nothing behind)."""

import os
import shutil
import subprocess

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file


def tree(root):
    """Every path under root with its kind, bytes or link target, and mode: what a change would show."""
    found = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, str(root))
            st = os.lstat(path)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = ("dir", st.st_mode)
            elif not os.path.isfile(path):
                found[rel] = ("other", st.st_mode)
            else:
                with open(path, "rb") as handle:
                    found[rel] = ("file", handle.read(), st.st_mode)
    return found


def chattr(flag, path):
    """Set an inode flag; None when this filesystem or this user cannot (the test is skipped then)."""
    if not shutil.which("chattr"):
        return None
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return result.returncode == 0 or None


def test_write_replaces_bytes_and_keeps_mode(tmp_path):
    target = tmp_path / "fstab"
    target.write_bytes(b"old\r\n")
    os.chmod(str(target), 0o600)
    assert atomic_file.write(str(target), b"new\r\n") == str(target)
    assert target.read_bytes() == b"new\r\n"
    assert os.stat(str(target)).st_mode & 0o7777 == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["fstab"]


def test_write_follows_a_chain_of_links_and_keeps_them(tmp_path):
    real = tmp_path / "etc" / "docker" / "real" / "daemon.json"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"{}")
    (tmp_path / "etc" / "docker" / "middle.json").symlink_to("real/daemon.json")
    link = tmp_path / "etc" / "docker" / "daemon.json"
    link.symlink_to("middle.json")
    assert atomic_file.write(str(link), b'{"a": 1}') == str(real)
    assert os.readlink(str(link)) == "middle.json"
    assert real.read_bytes() == b'{"a": 1}'
    assert sorted(os.listdir(str(real.parent))) == ["daemon.json"]


def test_a_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "fstab"
    link.symlink_to("alt/fstab")
    (tmp_path / "alt").mkdir()
    atomic_file.write(str(link), b"x\n")
    assert (tmp_path / "alt" / "fstab").read_bytes() == b"x\n"
    assert os.path.islink(str(link))


def test_a_link_loop_is_refused_and_nothing_changes(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="loop"):
        atomic_file.write(str(tmp_path / "a"), b"x")
    assert tree(tmp_path) == before


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "conf").mkdir()
    with pytest.raises(atomic_file.FileWriteError, match="is a folder"):
        atomic_file.write(str(tmp_path / "conf"), b"x")


def test_a_fifo_is_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(str(fifo))
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="not a regular file"):
        atomic_file.write(str(fifo), b"x")
    assert tree(tmp_path) == before


def test_an_immutable_file_is_refused_before_anything_is_made(tmp_path):
    target = tmp_path / "daemon.json"
    target.write_bytes(b"{}\n")
    if not chattr("+i", target):
        pytest.skip("this filesystem or user cannot set the immutable flag")
    try:
        before = tree(tmp_path)
        with pytest.raises(atomic_file.FileWriteError, match="immutable.*chattr -i"):
            atomic_file.check_writable(str(target))
        with pytest.raises(atomic_file.FileWriteError, match="immutable"):
            atomic_file.write(str(target), b"{}")
        assert tree(tmp_path) == before
    finally:
        chattr("-i", target)


def test_an_immutable_folder_is_refused_for_a_new_file(tmp_path):
    folder = tmp_path / "conf.d"
    folder.mkdir()
    if not chattr("+i", folder):
        pytest.skip("this filesystem or user cannot set the immutable flag")
    try:
        with pytest.raises(atomic_file.FileWriteError, match="immutable"):
            atomic_file.write(str(folder / "new.toml"), b"x")
        assert os.listdir(str(folder)) == []
    finally:
        chattr("-i", folder)


def test_a_failed_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "fstab"
    target.write_bytes(b"old\n")

    def refuse(src, dst):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(atomic_file.os, "rename", refuse)
    with pytest.raises(atomic_file.FileWriteError, match="cannot be replaced: Operation not permitted"):
        atomic_file.write(str(target), b"new\n")
    assert tree(tmp_path) == {"fstab": ("file", b"old\n", os.stat(str(target)).st_mode)}


def test_a_read_only_filesystem_is_named(tmp_path, monkeypatch):
    class ReadOnly:
        f_flag = os.ST_RDONLY
    monkeypatch.setattr(atomic_file.os, "statvfs", lambda path: ReadOnly())
    with pytest.raises(atomic_file.FileWriteError, match="read-only filesystem"):
        atomic_file.check_writable(str(tmp_path / "fstab"))


def test_read_returns_none_for_a_missing_file_and_bytes_otherwise(tmp_path):
    assert atomic_file.read(str(tmp_path / "none")) is None
    (tmp_path / "f").write_bytes(b"\xff\xfe")
    assert atomic_file.read(str(tmp_path / "f")) == b"\xff\xfe"


def test_remove_takes_the_link_not_its_target(tmp_path):
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to("real")
    assert atomic_file.remove(str(tmp_path / "link")) is True
    assert sorted(os.listdir(str(tmp_path))) == ["real"]
    assert atomic_file.remove(str(tmp_path / "link")) is False


def test_a_loop_in_a_folder_of_the_path_is_named(tmp_path):
    (tmp_path / "d1").symlink_to("d2")
    (tmp_path / "d2").symlink_to("d1")
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="loop"):
        atomic_file.write(str(tmp_path / "d1" / "daemon.json"), b"{}")
    assert tree(tmp_path) == before


def test_a_link_into_a_missing_folder_creates_nothing(tmp_path):
    """A daemon.json linked onto a filesystem that is not mounted must not be created on the root filesystem."""
    link = tmp_path / "daemon.json"
    link.symlink_to("mnt/cfg/daemon.json")
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="does not exist .a filesystem not mounted"):
        atomic_file.write(str(link), b"{}")
    assert tree(tmp_path) == before


def test_a_plain_path_into_a_missing_folder_creates_the_folder(tmp_path):
    atomic_file.write(str(tmp_path / "conf.d" / "99-nvidia.toml"), b"x")
    assert (tmp_path / "conf.d" / "99-nvidia.toml").read_bytes() == b"x"


def test_reading_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "daemon.json"
    os.mkfifo(str(fifo))
    with pytest.raises(atomic_file.FileWriteError, match="not a regular file"):
        atomic_file.read(str(fifo))


def planted_link(tmp_path, target, uid=65534):
    """A link another user planted in a folder every user can write to, as /tmp is."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    link = shared / "daemon.json"
    link.symlink_to(str(target))
    os.lchown(str(link), uid, uid)
    return link


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a link of another user takes root")
def test_a_link_planted_by_another_user_in_a_shared_folder_is_refused(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"root's\n")
    link = planted_link(tmp_path, victim)
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="owned by uid 65534 .* a folder every user can write to"):
        atomic_file.write(str(link), b"hacked\n")
    assert tree(tmp_path) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a link's owner takes root")
def test_a_link_of_roots_own_in_a_shared_folder_is_followed(tmp_path):
    victim = tmp_path / "real"
    victim.write_bytes(b"old\n")
    link = planted_link(tmp_path, victim, uid=0)
    assert atomic_file.write(str(link), b"new\n") == str(victim)
    assert victim.read_bytes() == b"new\n"


def test_follow_resolves_links_climbing_through_other_links(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "up").symlink_to("a/b")
    (tmp_path / "conf").symlink_to("up/../c.toml")
    assert atomic_file.follow(str(tmp_path / "conf")) == os.path.realpath(str(tmp_path / "conf"))


def test_a_bind_mounted_file_is_named_before_anything_is_made(tmp_path, monkeypatch):
    target = tmp_path / "fstab"
    target.write_bytes(b"x\n")
    monkeypatch.setattr(atomic_file, "mount_points", lambda: {str(target)})
    before = tree(tmp_path)
    with pytest.raises(atomic_file.FileWriteError, match="is a mount point"):
        atomic_file.write(str(target), b"y\n")
    assert tree(tmp_path) == before


def test_mount_points_reads_mountinfo_with_its_escapes(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                    "30 22 8:1 /src/fstab /etc/fstab ro - ext4 /dev/sda1 rw\n"
                    "31 22 0:5 / /mnt/my\\040disk rw - tmpfs tmpfs rw\n")
    assert atomic_file.mount_points(str(info)) == {"/", "/etc/fstab", "/mnt/my disk"}


def test_follow_takes_dot_dot_after_the_link_before_it_is_followed(tmp_path):
    """a/l/up/.. is the parent of where the links lead, not a/l: as the kernel and realpath resolve it."""
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    os.symlink("b/c", str(tmp_path / "a" / "l"))
    os.symlink("../..", str(tmp_path / "a" / "b" / "c" / "up"))
    for path in ("a/l/up/l/up/..", "a/l/..", "a/l/up/../x.conf"):
        full = os.path.join(str(tmp_path), path)
        assert atomic_file.follow(full) == os.path.realpath(full), path


def test_mounts_decode_escaped_utf8_bytes_and_merge_both_option_fields(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_bytes(b"31 22 0:5 / /mnt/caf\\303\\251 rw,noatime shared:1 - tmpfs tmpfs rw,size=1024k\n")
    assert atomic_file.mounts(str(info)) == {"/mnt/caf\u00e9": ("tmpfs", {"rw", "noatime", "size=1024k"})}
