"""package_hold writes the dnf versionlock list through atomic_file: links kept, immutable lists refused."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.modules import package_hold


def run(capsys, path, check_mode=False):
    args = dict(name=["nvidia-open"], manager="dnf", version="580.95.05-1.el9", versionlock_list=path,
                _ansible_check_mode=check_mode)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            package_hold.main()
    return json.loads(capsys.readouterr().out)


def test_a_symlinked_list_keeps_its_link_and_its_other_lines(tmp_path, capsys):
    real = tmp_path / "keep" / "versionlock.list"
    real.parent.mkdir()
    real.write_text("kernel-0:5.14.0-427.el9.*\n")
    os.chmod(str(real), 0o640)
    link = tmp_path / "versionlock.list"
    os.symlink(str(real), str(link))
    result = run(capsys, str(link))
    assert result["changed"] and result["changed_packages"] == ["nvidia-open"]
    assert os.readlink(str(link)) == str(real)
    assert real.read_text() == "kernel-0:5.14.0-427.el9.*\nnvidia-open-0:580.95.05-1.el9.*\n"
    assert oct(os.stat(str(real)).st_mode & 0o777) == oct(0o640)
    assert run(capsys, str(link))["changed"] is False
    assert sorted(os.listdir(str(real.parent))) == ["versionlock.list"]


def test_a_new_list_is_made_0644(tmp_path, capsys):
    path = tmp_path / "plugins" / "versionlock.list"
    assert run(capsys, str(path))["changed"]
    assert os.stat(str(path)).st_mode & 0o777 == 0o644


def test_an_immutable_list_fails_in_check_mode_as_in_the_real_run(tmp_path, capsys, monkeypatch):
    path = tmp_path / "versionlock.list"
    path.write_text("kernel-0:5.14.0-427.el9.*\n")
    monkeypatch.setattr(atomic_file, "inode_flags", lambda p: atomic_file._FS_IMMUTABLE_FL if p == str(path) else 0)
    for check_mode in (True, False):
        result = run(capsys, str(path), check_mode)
        assert result["failed"]
        assert result["msg"].startswith("%s is immutable" % path) and "chattr -i" in result["msg"]
    assert path.read_text() == "kernel-0:5.14.0-427.el9.*\n"
    assert os.listdir(str(tmp_path)) == ["versionlock.list"]
