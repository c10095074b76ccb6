"""file_record: managed_files keeps what it left in a set, gpu_facts reports the files still so (hashed again), and
the managed_files action skips the module only where every file is already as asked."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dlops.gpu.plugins.module_utils import file_record
from ansible_collections.dlops.gpu.plugins.modules import managed_files


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(file_record, "FOLDER", str(tmp_path / "var" / "lib" / "dlops-gpu" / "managed-files"))
    return tmp_path


def run(capsys, files, check_mode=False, **args):
    args.update(files=files, _ansible_check_mode=check_mode, _ansible_diff=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            managed_files.main()
    return json.loads(capsys.readouterr().out)


def entries(tmp_path):
    return [{"path": str(tmp_path / "etc" / "profile.d" / "env.sh"), "content": "export A=1\n", "mode": "0644"},
            {"path": str(tmp_path / "sbin" / "switch"), "content": "#!/bin/sh\n", "mode": "0755"},
            {"path": str(tmp_path / "modulefiles" / "12.4"), "state": "absent"}]


def test_the_record_follows_the_run_and_the_probe_reports_what_is_still_so(folder, capsys):
    files = entries(folder)
    checked = run(capsys, files, check_mode=True, record="env")
    assert checked["changed"] and not os.path.exists(file_record.FOLDER)  # check mode keeps no record
    first = run(capsys, files, record="env")
    assert first["changed"] and first["checked_by_probe"] is False
    known = file_record.read_all()["env"]
    assert (known["owner"], known["group"]) == (None, None)
    assert sorted(known["files"]) == sorted(f["path"] for f in files)
    assert known["files"][files[2]["path"]] == {"absent": True}
    assert known["files"][files[1]["path"]]["mode"] == 0o755
    assert file_record.satisfied(files, known, None, None)
    record = open(file_record.record_path("env"), "rb").read()
    assert not run(capsys, files, record="env")["changed"]
    assert open(file_record.record_path("env"), "rb").read() == record


def test_an_edit_a_chmod_or_a_file_put_back_drops_it_from_the_report(folder, capsys):
    files = entries(folder)
    run(capsys, files, record="env")
    with open(files[0]["path"], "a") as handle:
        handle.write("export B=2\n")
    os.chmod(files[1]["path"], 0o700)
    os.makedirs(os.path.dirname(files[2]["path"]))
    open(files[2]["path"], "w").close()
    known = file_record.read_all()["env"]
    assert known["files"] == {}
    assert not file_record.satisfied(files, known, None, None)
    # The module, run because of it, puts every file back and records them again.
    assert run(capsys, files, record="env")["written"] == [files[0]["path"], files[1]["path"]]
    assert file_record.satisfied(files, file_record.read_all()["env"], None, None)


def test_satisfied_wants_every_file_with_its_content_mode_owner_and_group(folder, capsys):
    files = entries(folder)
    run(capsys, files, record="env")
    known = file_record.read_all()["env"]
    assert not file_record.satisfied(files, known, "root", None)  # asked for another owner than recorded
    assert not file_record.satisfied([dict(files[0], content="export A=2\n")] + files[1:], known, None, None)
    assert not file_record.satisfied([dict(files[1], mode="0700")], known, None, None)
    assert not file_record.satisfied([dict(files[0], path=str(folder / "new"))], known, None, None)
    assert not file_record.satisfied([dict(files[0], state="absent")], known, None, None)
    assert not file_record.satisfied([dict(files[2], state="present", content="")], known, None, None)
    assert not file_record.satisfied([], known, None, None)
    assert file_record.satisfied([dict(files[1], mode=0o755)], known, None, None)  # a mode as YAML hands it over


def test_a_damaged_or_foreign_record_is_ignored(folder):
    os.makedirs(file_record.FOLDER)
    for name, data in (("bad", b"{not json"), ("list", b"[]"), ("Upper", b'{"files": {}}'),
                       ("relative", b'{"files": {"etc/x": {"absent": true}}}')):
        with open(os.path.join(file_record.FOLDER, name + ".json"), "wb") as handle:
            handle.write(data)
    assert file_record.read_all() == {"relative": {"owner": None, "group": None, "files": {}}}


def test_a_record_name_that_is_not_a_name_is_refused(folder, capsys):
    result = run(capsys, entries(folder), record="../../etc/x")
    assert result["failed"] and "is not a name" in result["msg"] and "nothing was changed" in result["msg"]
    assert not os.path.exists(entries(folder)[0]["path"])
