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
