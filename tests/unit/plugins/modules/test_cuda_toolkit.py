"""cuda_toolkit and cuda_cudnn as Ansible runs them: check mode judged against the state the steps before it leave,
and the archives copied for an install deleted afterwards."""

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dlops.gpu.plugins.module_utils import redist
from ansible_collections.dlops.gpu.plugins.modules import cuda_cudnn, cuda_toolkit
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_redist import cudart, make_archive
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_switch import snapshot


def run(capsys, module, **args):
    args.setdefault("_ansible_diff", True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def managed(prefix, series, version):
    path = os.path.join(str(prefix), "cuda-" + series)
    os.makedirs(os.path.join(path, "lib64"))
    redist.write_record(path, {"cuda": {"version": version}, redist.MARKER: {"platform": "linux-x86_64"}})
    return path


@pytest.fixture
def prefix(tmp_path):
    """12.4 (the default, by its link) and 12.8, both installed by the collection."""
    root = tmp_path / "usr-local"
    managed(root, "12.4", "12.4.1")
    managed(root, "12.8", "12.8.1")
    os.symlink(str(root / "cuda-12.4"), str(root / "cuda"))
    return root


def test_check_mode_prunes_the_old_default_when_the_switch_before_moves_it(prefix, capsys):
    before = snapshot(str(prefix))
    checked = run(capsys, cuda_toolkit, version="12.4", prefix=str(prefix), state="absent", default="12.8",
                  _ansible_check_mode=True)
    assert (checked["changed"], checked["differences"]) == (True, ["remove"])
    assert snapshot(str(prefix)) == before
    # The real run: the switch has moved the link first; the removal then goes as check mode said.
    os.unlink(str(prefix / "cuda"))
    os.symlink(str(prefix / "cuda-12.8"), str(prefix / "cuda"))
    real = run(capsys, cuda_toolkit, version="12.4", prefix=str(prefix), state="absent", default="12.8")
    assert (real["changed"], real["diff"]) == (True, checked["diff"])
    assert not os.path.exists(str(prefix / "cuda-12.4"))


def test_the_default_is_never_removed(prefix, capsys):
    before = snapshot(str(prefix))
    for check in (True, False):
        told = run(capsys, cuda_toolkit, version="12.8", prefix=str(prefix), state="absent", default="12.8",
                   _ansible_check_mode=check)
        assert told["failed"] and "is the default toolkit this run leaves (12.8)" in told["msg"]
    # Outside check mode the link counts too, whatever the task says the run leaves.
    linked = run(capsys, cuda_toolkit, version="12.4", prefix=str(prefix), state="absent", default="12.8")
    assert linked["failed"] and "cuda points at it" in linked["msg"]
    unsaid = run(capsys, cuda_toolkit, version="12.4", prefix=str(prefix), state="absent", _ansible_check_mode=True)
    assert unsaid["failed"] and "cuda points at it" in unsaid["msg"]
    assert snapshot(str(prefix)) == before


def test_an_install_deletes_the_archives_it_was_given_and_the_folders_they_leave(tmp_path, capsys):
    archives = tmp_path / "cache" / "cuda"
    (archives / "cuda_cudart" / "linux-x86_64").mkdir(parents=True)
    entry = cudart(archives / "cuda_cudart" / "linux-x86_64")
    entry["relative_path"] = "cuda_cudart/linux-x86_64/" + entry["relative_path"]
    (tmp_path / "cache" / "other").mkdir()
    args = dict(version="12.8.1", components={"cuda_cudart": entry}, archive_dir=str(archives),
                prefix=str(tmp_path / "prefix"), remove_archives=True)
    os.makedirs(args["prefix"])
    checked = run(capsys, cuda_toolkit, _ansible_check_mode=True, **args)
    assert checked["changed"] and os.path.isdir(str(archives / "cuda_cudart"))
    real = run(capsys, cuda_toolkit, **args)
    assert real["changed"] and real["diff"] == checked["diff"]
    assert os.path.isfile(os.path.join(args["prefix"], "cuda-12.8", "lib", "libcudart.so.12"))
    # atexit runs at the module's exit on a host; here it is called as it would be.
    redist.remove_archives(str(archives), [str(archives / entry["relative_path"])])
    assert not os.path.exists(str(archives))
    assert os.path.isdir(str(tmp_path / "cache" / "other"))


def test_remove_archives_keeps_what_it_was_not_given_and_never_follows_links(tmp_path):
    archives = tmp_path / "archives"
    (archives / "a").mkdir(parents=True)
    (archives / "a" / "x.tar.xz").write_bytes(b"x")
    (archives / "a" / "y.tar.xz").write_bytes(b"y")
    outside = tmp_path / "outside.tar.xz"
    outside.write_bytes(b"kept")
    os.symlink(str(outside), str(archives / "a" / "link.tar.xz"))
    redist.remove_archives(str(archives), [str(archives / "a" / "x.tar.xz"), str(archives / "a" / "link.tar.xz"),
                                           str(archives / "a" / "gone.tar.xz")])
    assert sorted(os.listdir(str(archives / "a"))) == ["link.tar.xz", "y.tar.xz"]
    assert outside.read_bytes() == b"kept"


def test_cudnn_into_a_toolkit_the_run_installs_is_reported_in_check_mode_only(tmp_path, capsys):
    path = str(tmp_path / "cudnn.tar.xz")
    entry = make_archive(path, "cudnn-linux-x86_64-9.13.0.50_cuda12-archive", {"include/cudnn_version.h": b"9"})
    entry.update(version="9.13.0.50", variant="cuda12")
    toolkit = str(tmp_path / "prefix" / "cuda-12.6")
    args = dict(toolkit=toolkit, cudnn=entry, archive_dir=str(tmp_path), pending=True)
    checked = run(capsys, cuda_cudnn, _ansible_check_mode=True, **args)
    assert checked["changed"] and checked["diff"]["after"] == "cudnn 9.13.0.50 cuda12\n"
    assert not os.path.exists(toolkit)
    real = run(capsys, cuda_cudnn, **args)
    assert real["failed"] and real["msg"] == "%s is not an installed CUDA toolkit folder (cuda-X.Y)" % toolkit
    args["pending"] = False
    unsaid = run(capsys, cuda_cudnn, _ansible_check_mode=True, **args)
    assert unsaid["failed"]


def test_a_default_that_is_not_x_y_is_refused_with_a_message(prefix, capsys):
    for value in ("12", "abc", "12.8\n"):
        result = run(capsys, cuda_toolkit, version="12.4", prefix=str(prefix), state="absent", default=value)
        assert result["failed"] and result["msg"] == "default %r is not X.Y (such as 12.8)" % value
