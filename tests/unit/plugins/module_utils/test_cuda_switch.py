import json
import multiprocessing
import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch


def toolkit(prefix, series, version=None, version_json=True):
    path = os.path.join(str(prefix), "cuda-" + series)
    os.makedirs(os.path.join(path, "lib64"), exist_ok=True)
    if version_json:
        with open(os.path.join(path, "version.json"), "w") as handle:
            json.dump({"cuda": {"name": "CUDA SDK", "version": version or series + ".0"}}, handle)
    return path


def test_installed_counts_folders_whose_version_json_names_their_version(tmp_path):
    toolkit(tmp_path, "12.4", "12.4.1")
    toolkit(tmp_path, "13.0", "13.0.2")
    toolkit(tmp_path, "12.6", "12.8.0")  # wrong version.json: not a 12.6 toolkit
    half = toolkit(tmp_path, "12.9", version_json=False)  # an interrupted copy: no version, no binaries
    nvcc_only = toolkit(tmp_path, "11.8", version_json=False)
    os.makedirs(os.path.join(nvcc_only, "bin"))
    open(os.path.join(nvcc_only, "bin", "nvcc"), "w").close()
    os.symlink(os.path.join(str(tmp_path), "cuda-13.0"), os.path.join(str(tmp_path), "cuda-13"))
    assert sorted(cuda_switch.installed(str(tmp_path))) == ["11.8", "12.4", "13.0"]
    assert os.path.isdir(half)


def test_unknown_version_fails_listing_the_installed_ones(tmp_path):
    toolkit(tmp_path, "12.4")
    toolkit(tmp_path, "13.0")
    with pytest.raises(cuda_switch.SwitchError, match=r"CUDA 12\.8 is not installed .*installed: 12\.4, 13\.0"):
        cuda_switch.plan(str(tmp_path), "12.8")
    with pytest.raises(cuda_switch.SwitchError, match="X.Y"):
        cuda_switch.plan(str(tmp_path), "12")


def test_switch_creates_then_moves_both_links_and_is_idempotent(tmp_path):
    a = toolkit(tmp_path, "12.4")
    b = toolkit(tmp_path, "13.0")
    prefix = str(tmp_path)
    assert cuda_switch.apply(cuda_switch.plan(prefix, "12.4")) == [prefix + "/cuda", prefix + "/cuda-12"]
    assert os.readlink(prefix + "/cuda") == a
    assert cuda_switch.apply(cuda_switch.plan(prefix, "12.4")) == []
    assert cuda_switch.apply(cuda_switch.plan(prefix, "13.0")) == [prefix + "/cuda", prefix + "/cuda-13"]
    assert os.readlink(prefix + "/cuda") == b
    assert os.readlink(prefix + "/cuda-12") == a  # the 12 major link still leads to 12.4
    assert not [n for n in os.listdir(prefix) if ".dlops-" in n]  # no temporary link left


def test_real_folder_in_the_way_is_refused(tmp_path):
    toolkit(tmp_path, "12.4")
    os.makedirs(os.path.join(str(tmp_path), "cuda"))
    with pytest.raises(cuda_switch.SwitchError, match="real folder"):
        cuda_switch.plan(str(tmp_path), "12.4")


def test_describe_shows_before_and_after(tmp_path):
    toolkit(tmp_path, "12.4")
    before, after = cuda_switch.describe(cuda_switch.plan(str(tmp_path), "12.4", major_link=False))
    assert before == "%s/cuda -> None\n" % tmp_path
    assert after == "%s/cuda -> %s/cuda-12.4\n" % (tmp_path, tmp_path)


def _reader(path, started, stop, failures, reads):
    count = bad = 0
    while not stop.is_set() or count == 0:
        try:
            with open(path) as handle:
                json.load(handle)
        except (IOError, OSError, ValueError):
            bad += 1
        count += 1
        if count == 1:
            started.release()
    with failures.get_lock():
        failures.value += bad
    with reads.get_lock():
        reads.value += count


def test_readers_never_fail_while_the_link_is_switched_100_times(tmp_path):
    prefix = str(tmp_path)
    toolkit(tmp_path, "12.4")
    toolkit(tmp_path, "13.0")
    cuda_switch.apply(cuda_switch.plan(prefix, "12.4"))
    stop = multiprocessing.Event()
    started = multiprocessing.Semaphore(0)
    failures = multiprocessing.Value("i", 0, lock=True)
    reads = multiprocessing.Value("i", 0, lock=True)
    readers = [multiprocessing.Process(target=_reader, args=(prefix + "/cuda/version.json", started, stop, failures, reads))
               for _i in range(3)]
    for proc in readers:
        proc.start()
    try:
        for _proc in readers:
            started.acquire()  # every reader is reading before the first switch
        for i in range(100):
            assert cuda_switch.apply(cuda_switch.plan(prefix, "13.0" if i % 2 == 0 else "12.4"))
    finally:
        stop.set()
        for proc in readers:
            proc.join()
    assert reads.value > 300
    assert failures.value == 0


def test_cuda_switch_command(tmp_path, capsys, monkeypatch):
    toolkit(tmp_path, "12.4")
    toolkit(tmp_path, "13.0")
    monkeypatch.setattr(cuda_switch.subprocess, "call", lambda cmd: 0)  # ldconfig
    assert cuda_switch.main(["--prefix", str(tmp_path), "13.0"]) == 0
    assert "CUDA 13.0 is the default" in capsys.readouterr().out
    assert cuda_switch.main(["--prefix", str(tmp_path), "--list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("  12.4") and listing[1].startswith("* 13.0")
    assert cuda_switch.main(["--prefix", str(tmp_path), "11.8"]) == 1
    assert "installed: 12.4, 13.0" in capsys.readouterr().err
