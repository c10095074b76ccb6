"""cuda_select as Ansible runs it: check mode, the real switch, idempotence, refusals that change nothing."""

import json
import os
import shutil

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch
from ansible_collections.dlops.gpu.plugins.modules import cuda_select
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_switch import snapshot, toolkit

UPDATE_ALTERNATIVES = shutil.which("update-alternatives")


def run(capsys, **args):
    args.setdefault("ldconfig", False)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            cuda_select.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A prefix with 12.4 and 12.8, and the lock and update-alternatives' folders inside the temp tree."""
    prefix = tmp_path / "prefix"
    for folder in ("prefix", "alt", "admin", "run"):
        (tmp_path / folder).mkdir()
    toolkit(prefix, "12.4")
    toolkit(prefix, "12.8")
    monkeypatch.setattr(cuda_switch, "LOCK_FILE", str(tmp_path / "run" / "switch.lock"))
    monkeypatch.setattr(cuda_switch, "ALTDIR", str(tmp_path / "alt"))
    monkeypatch.setattr(cuda_switch, "ADMINDIR", str(tmp_path / "admin"))
    return tmp_path


def test_check_mode_predicts_the_switch_the_real_run_makes_then_nothing_changes(tree, capsys):
    prefix = str(tree / "prefix")
    before = snapshot(str(tree))
    checked = run(capsys, version="12.8", prefix=prefix, _ansible_check_mode=True)
    assert snapshot(str(tree)) == before
    real = run(capsys, version="12.8", prefix=prefix)
    assert checked["changed"] and real["changed"]
    assert checked["switched"] == real["switched"] == [prefix + "/cuda", prefix + "/cuda-12"]
    assert checked["diff"] == real["diff"]
    assert real["method"] == "rename"
    assert os.readlink(prefix + "/cuda") == os.readlink(prefix + "/cuda-12") == prefix + "/cuda-12.8"
    again = run(capsys, version="12.8", prefix=prefix)
    assert (again["changed"], again["switched"], again["previous"]) == (False, [], prefix + "/cuda-12.8")


def test_a_version_not_installed_fails_with_the_installed_ones_and_changes_nothing(tree, capsys):
    prefix = str(tree / "prefix")
    before = snapshot(str(tree))
    result = run(capsys, version="13.0", prefix=prefix)
    assert result["failed"]
    assert result["msg"] == "switching to CUDA 13.0: CUDA 13.0 is not installed under %s (installed: 12.4, 12.8)" % prefix
    assert sorted(result["installed"]) == ["12.4", "12.8"]
    assert snapshot(str(tree)) == before


@pytest.mark.skipif(UPDATE_ALTERNATIVES is None, reason="no update-alternatives here")
def test_a_foreign_alternative_is_refused_in_check_mode_and_for_real(tree, capsys):
    prefix = str(tree / "prefix")
    alts = cuda_switch.Alternatives(UPDATE_ALTERNATIVES)
    cuda_switch.run(alts.command("--install", str(tree / "editor"), "editor", prefix + "/cuda-12.4", "10"))
    os.symlink(str(tree / "alt" / "editor"), prefix + "/cuda")
    before = snapshot(str(tree))
    for check_mode in (True, False):
        result = run(capsys, version="12.8", prefix=prefix, _ansible_check_mode=check_mode)
        assert result["failed"]
        assert "points at %s/alt/editor, which update-alternatives does not manage as cuda" % tree in result["msg"]
        assert "nothing was changed" in result["msg"]
    assert snapshot(str(tree)) == before


@pytest.mark.skipif(UPDATE_ALTERNATIVES is None, reason="no update-alternatives here")
def test_the_cuda_alternative_is_switched_through_update_alternatives(tree, capsys):
    prefix = str(tree / "prefix")
    alts = cuda_switch.Alternatives(UPDATE_ALTERNATIVES)
    cuda_switch.run(alts.command("--install", prefix + "/cuda", "cuda", prefix + "/cuda-12.8", "128"))
    result = run(capsys, version="12.4", prefix=prefix)
    assert (result["changed"], result["method"], result["previous"]) == (True, "alternatives", prefix + "/cuda-12.8")
    info = alts.query("cuda")
    assert (info["value"], info["status"]) == (prefix + "/cuda-12.4", "manual")
    assert run(capsys, version="12.4", prefix=prefix)["changed"] is False


def test_a_held_lock_fails_after_lock_timeout_naming_the_holder_and_changes_nothing(tree, capsys):
    import subprocess
    import sys
    from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_switch import HOLD
    prefix = str(tree / "prefix")
    lock_file = cuda_switch.LOCK_FILE
    with cuda_switch.lock(lock_file):
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock_file], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        before = snapshot(str(tree))
        result = run(capsys, version="12.8", prefix=prefix, lock_timeout=1)
        assert result["failed"]
        assert result["msg"].startswith("switching to CUDA 12.8: the switch lock %s is held by pid %d (" % (lock_file, holder.pid))
        assert result["msg"].endswith("wait for it or stop it, then switch again; nothing was changed")
        assert snapshot(str(tree)) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_folder_others_can_write_is_refused(tree, capsys):
    os.chmod(str(tree / "run"), 0o1777)
    before = snapshot(str(tree))
    result = run(capsys, version="12.8", prefix=str(tree / "prefix"))
    assert result["failed"]
    assert result["msg"].startswith("switching to CUDA 12.8: the switch lock's folder %s/run is owned by uid %d with mode "
                                    "1777: it must be owned by root and writable by root alone" % (tree, os.geteuid()))
    assert snapshot(str(tree)) == before


def test_check_mode_reports_the_switch_to_a_toolkit_the_run_installs_and_the_real_run_needs_it_there(tree, capsys):
    prefix = str(tree / "prefix")
    before = snapshot(str(tree))
    checked = run(capsys, version="13.0", prefix=prefix, pending=True, _ansible_check_mode=True)
    assert checked["changed"] and checked["switched"] == [prefix + "/cuda", prefix + "/cuda-13"]
    assert checked["diff"]["after"] == "%s/cuda -> %s/cuda-13.0\n%s/cuda-13 -> %s/cuda-13.0\n" % ((prefix,) * 4)
    assert snapshot(str(tree)) == before
    real = run(capsys, version="13.0", prefix=prefix, pending=True)
    assert real["failed"] and "CUDA 13.0 is not installed" in real["msg"]
    toolkit(tree / "prefix", "13.0")
    real = run(capsys, version="13.0", prefix=prefix, pending=True)
    assert real["diff"] == checked["diff"]
