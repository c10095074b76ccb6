"""managed_files: what each file of the set needs, and its diff."""

from ansible_collections.dlops.gpu.plugins.modules import managed_files


def entry(path, content="", state="present", mode="0644"):
    return {"path": path, "content": content, "state": state, "mode": mode}


def test_plan_writes_what_differs_and_removes_what_is_unwanted(tmp_path):
    same = tmp_path / "same.conf"
    same.write_text("kept\n")
    other = tmp_path / "other.conf"
    other.write_text("old\n")
    stale = tmp_path / "stale.conf"
    stale.write_text("gone\n")
    files = [entry(str(same), "kept\n"), entry(str(other), "new\n"), entry(str(tmp_path / "new.conf"), "x\n"),
             entry(str(stale), state="absent"), entry(str(tmp_path / "never.conf"), state="absent")]
    actions = [(step[0]["path"], step[2]) for step in managed_files.plan(files)]
    assert actions == [(str(same), "mode"), (str(other), "write"), (str(tmp_path / "new.conf"), "write"),
                       (str(stale), "remove"), (str(tmp_path / "never.conf"), "keep")]


def test_plan_compares_bytes_not_text(tmp_path):
    path = tmp_path / "unicode.conf"
    path.write_bytes("caf\u00e9\n".encode("utf-8"))
    assert managed_files.plan([entry(str(path), "caf\u00e9\n")])[0][2] == "mode"
    assert managed_files.plan([entry(str(path), "cafe\n")])[0][2] == "write"


def test_diff_of_a_new_and_a_removed_file():
    created = managed_files.diff(entry("/etc/a.conf", "a\n"), None, "write")
    assert (created["before"], created["after"], created["after_header"]) == ("", "a\n", "/etc/a.conf")
    removed = managed_files.diff(entry("/etc/b.conf", state="absent"), b"b\n", "remove")
    assert (removed["before"], removed["after"]) == ("b\n", "")


# The module as Ansible runs it, in a temporary tree: what it writes, and what it refuses with nothing changed.

import grp  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import stat  # noqa: E402

import pytest  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file  # noqa: E402


def run(capsys, files, check_mode=False, **args):
    args.update(files=files, _ansible_check_mode=check_mode, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            managed_files.main()
    return json.loads(capsys.readouterr().out)


def snapshot(root):
    seen = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                seen[path] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as handle:
                    seen[path] = ("file", hashlib.sha256(handle.read()).hexdigest(), st.st_mode, st.st_uid, st.st_gid)
            else:
                seen[path] = ("other", st.st_mode)
    return seen


@pytest.mark.parametrize("value, mode", [(420, 0o644), ("0644", 0o644), ("644", 0o644), ("0o755", 0o755),
                                         (0o4755, 0o4755), ("0600", 0o600), (644, 0o1204)])
def test_modes_are_read_the_way_ansible_builtin_file_reads_them(value, mode):
    # An int is the number itself (YAML made `mode: 0644` the int 420 already); a string is octal.
    assert managed_files.parse_mode(value) == mode


@pytest.mark.parametrize("value, why", [("u=rw,g=r", "not an octal mode"), ("0999", "not an octal mode"),
                                        ("", "not an octal mode"), (True, "is not a mode"), (None, "is not a mode"),
                                        (0o17777, "more than permission bits"), ("017777", "more than permission bits"),
                                        (-1, "more than permission bits")])
def test_modes_that_are_not_modes_are_refused(value, why):
    with pytest.raises(managed_files.ManagedFilesError, match=why + ".*nothing was changed"):
        managed_files.parse_mode(value, "/etc/x.conf")


def test_an_integer_mode_from_yaml_writes_that_mode(tmp_path, capsys):
    path = str(tmp_path / "sub" / "a.sh")
    result = run(capsys, [{"path": path, "content": "echo\n", "mode": 493}])  # YAML `mode: 0755`
    assert result["changed"] and result["written"] == [path]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o755
    assert run(capsys, [{"path": path, "content": "echo\n", "mode": "0755"}])["changed"] is False
    changed = run(capsys, [{"path": path, "content": "echo\n", "mode": 420}])
    assert changed["diff"][0]["before"] == "mode 0755\n" and changed["diff"][0]["after"] == "mode 0644\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_check_mode_reports_what_the_real_run_does_and_changes_nothing(tmp_path, capsys):
    (tmp_path / "old.conf").write_text("old\n")
    (tmp_path / "gone.conf").write_text("gone\n")
    files = [{"path": str(tmp_path / "old.conf"), "content": "new\n"},
             {"path": str(tmp_path / "new" / "made.conf"), "content": "made\n", "mode": "0600"},
             {"path": str(tmp_path / "gone.conf"), "state": "absent"}]
    before = snapshot(tmp_path)
    checked = run(capsys, files, check_mode=True)
    assert snapshot(tmp_path) == before
    real = run(capsys, files)
    for key in ("changed", "written", "removed", "diff"):
        assert checked[key] == real[key], key
    assert (tmp_path / "old.conf").read_text() == "new\n"
    assert stat.S_IMODE(os.stat(str(tmp_path / "new" / "made.conf")).st_mode) == 0o600
    assert not (tmp_path / "gone.conf").exists()
    assert run(capsys, files)["changed"] is False
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith(atomic_file.TEMP_PREFIX)]


def test_a_symlink_is_followed_on_write_and_removed_itself_on_absent(tmp_path, capsys):
    target = tmp_path / "real.conf"
    target.write_text("old\n")
    link = tmp_path / "link.conf"
    os.symlink(str(target), str(link))
    assert run(capsys, [{"path": str(link), "content": "new\n"}])["written"] == [str(link)]
    assert os.readlink(str(link)) == str(target) and target.read_text() == "new\n"
    result = run(capsys, [{"path": str(link), "state": "absent"}])
    assert result["removed"] == [str(link)]
    assert result["diff"][0]["before"] == "symlink to %s\n" % target
    assert not os.path.lexists(str(link)) and target.read_text() == "new\n"
    dangling = tmp_path / "dangling.conf"
    os.symlink(str(tmp_path / "nowhere"), str(dangling))
    assert run(capsys, [{"path": str(dangling), "state": "absent"}])["removed"] == [str(dangling)]
    assert not os.path.lexists(str(dangling))


def missing_name(database):
    name = "dlops-no-such-name"
    with pytest.raises(KeyError):
        database(name)
    return name


@pytest.mark.parametrize("kind", ["owner", "group"])
def test_an_owner_or_group_the_host_lacks_is_refused_before_anything_is_written(tmp_path, capsys, kind):
    (tmp_path / "a.conf").write_text("old\n")
    name = missing_name(pwd.getpwnam if kind == "owner" else grp.getgrnam)
    before = snapshot(tmp_path)
    for check_mode in (True, False):
        result = run(capsys, [{"path": str(tmp_path / "a.conf"), "content": "new\n"},
                              {"path": str(tmp_path / "b.conf"), "content": "b\n"}], check_mode, **{kind: name})
        assert result["failed"]
        assert result["msg"] == "%s %r does not exist on this host: create the %s first or name another one; " \
            "nothing was changed" % (kind, name, "user" if kind == "owner" else "group")
    assert snapshot(tmp_path) == before


def missing_id(database):
    number = 99999
    while True:
        try:
            database(number)
        except KeyError:
            return number
        number += 1


@pytest.mark.parametrize("kind", ["owner", "group"])
def test_a_numeric_owner_or_group_the_host_lacks_is_refused_before_anything_is_written(tmp_path, capsys, kind):
    (tmp_path / "a.conf").write_text("old\n")
    number = str(missing_id(pwd.getpwuid if kind == "owner" else grp.getgrgid))
    word = "user" if kind == "owner" else "group"
    before = snapshot(tmp_path)
    for check_mode in (True, False):
        result = run(capsys, [{"path": str(tmp_path / "a.conf"), "content": "new\n"},
                              {"path": str(tmp_path / "sub" / "b.conf"), "content": "b\n"}], check_mode, **{kind: number})
        assert result["failed"]
        assert result["msg"] == "%s %r is a numeric %s id that no %s on this host has: create the %s first or name " \
            "another one; nothing was changed" % (kind, number, word, word, word)
    assert snapshot(tmp_path) == before


def test_a_numeric_owner_and_group_the_host_has_are_taken(tmp_path, capsys):
    path = tmp_path / "a.conf"
    result = run(capsys, [{"path": str(path), "content": "a\n"}], owner=str(os.getuid()), group=str(os.getgid()))
    assert result["changed"] and result["written"] == [str(path)]
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (os.getuid(), os.getgid())


def test_missing_parent_folders_are_created_with_mode_0755(tmp_path, capsys):
    path = tmp_path / "new" / "sub" / "a.conf"
    old_umask = os.umask(0o022)
    try:
        result = run(capsys, [{"path": str(path), "content": "a\n"}])
    finally:
        os.umask(old_umask)
    assert result["written"] == [str(path)] and path.read_text() == "a\n"
    assert [oct(os.stat(str(folder)).st_mode & 0o7777) for folder in (path.parent.parent, path.parent)] == ["0o755"] * 2


def test_owner_and_group_are_set_on_the_file_written(tmp_path, capsys):
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    path = tmp_path / "a.conf"
    run(capsys, [{"path": str(path), "content": "a\n"}], owner=me, group=group)
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (os.getuid(), os.getgid())


@pytest.mark.parametrize("second", ["same", "dotted", "link"])
def test_the_same_file_twice_is_refused(tmp_path, capsys, second):
    path = str(tmp_path / "a.conf")
    os.symlink(path, str(tmp_path / "link.conf"))
    other = {"same": path, "dotted": str(tmp_path / "x" / ".." / "a.conf"), "link": str(tmp_path / "link.conf")}[second]
    before = snapshot(tmp_path)
    result = run(capsys, [{"path": path, "content": "one\n"}, {"path": other, "content": "two\n"}])
    assert result["failed"]
    assert "is listed twice in files" in result["msg"] and result["msg"].endswith("keep one entry; nothing was changed")
    assert snapshot(tmp_path) == before


def test_a_relative_path_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    result = run(capsys, [{"path": "rel.conf", "content": "x\n"}])
    assert result["failed"] and result["msg"] == "rel.conf: the path must be absolute; nothing was changed"
    assert os.listdir(str(tmp_path)) == []


def test_an_immutable_file_fails_in_check_mode_as_in_the_real_run(tmp_path, capsys, monkeypatch):
    (tmp_path / "first.conf").write_text("old\n")
    locked = tmp_path / "locked.conf"
    locked.write_text("old\n")
    monkeypatch.setattr(atomic_file, "inode_flags",
                        lambda path: atomic_file._FS_IMMUTABLE_FL if path == str(locked) else 0)
    files = [{"path": str(tmp_path / "first.conf"), "content": "new\n"}, {"path": str(locked), "content": "new\n"}]
    before = snapshot(tmp_path)
    for check_mode in (True, False):
        result = run(capsys, files, check_mode)
        assert result["failed"]
        assert result["msg"].startswith("%s is immutable" % locked) and result["msg"].endswith("nothing was changed")
    assert snapshot(tmp_path) == before  # not even the first file, listed before it


def test_a_fifo_in_the_way_is_refused_not_read(tmp_path, capsys):
    fifo = str(tmp_path / "pipe.conf")
    os.mkfifo(fifo)
    before = snapshot(tmp_path)
    for check_mode in (True, False):
        result = run(capsys, [{"path": fifo, "content": "x\n"}], check_mode)
        assert result["failed"] and "is not a regular file" in result["msg"]
    assert snapshot(tmp_path) == before


def test_ldconfig_runs_once_after_a_change_and_check_mode_reports_it_without_running_it(tmp_path, capsys, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule
    ran = []
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: "/sbin/" + name)
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, check_rc=False: ran.append(argv) or (0, "", ""))
    files = [entry(str(tmp_path / "dlops-cuda.conf"), "/usr/local/cuda/lib64\n")]
    checked = run(capsys, files, check_mode=True, ldconfig=True)
    assert (checked["changed"], checked["ldconfig"], ran) == (True, True, [])
    real = run(capsys, files, ldconfig=True)
    assert (real["changed"], real["ldconfig"], ran) == (True, True, [["/sbin/ldconfig"]])
    again = run(capsys, files, ldconfig=True)
    assert (again["changed"], again["ldconfig"], ran) == (False, False, [["/sbin/ldconfig"]])


def test_a_host_without_ldconfig_fails_before_anything_is_written(tmp_path, capsys, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule

    def missing(self, name, required=False, opt_dirs=None):
        if required:
            self.fail_json(msg="Failed to find required executable \"%s\"" % name)
    monkeypatch.setattr(AnsibleModule, "get_bin_path", missing)
    files = [entry(str(tmp_path / "dlops-cuda.conf"), "/usr/local/cuda/lib64\n")]
    result = run(capsys, files, ldconfig=True)
    assert result["failed"] and "ldconfig" in result["msg"]
    assert not os.path.exists(str(tmp_path / "dlops-cuda.conf"))
