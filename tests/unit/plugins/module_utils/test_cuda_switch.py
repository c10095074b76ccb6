import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch

UPDATE_ALTERNATIVES = shutil.which("update-alternatives")
needs_update_alternatives = pytest.mark.skipif(UPDATE_ALTERNATIVES is None, reason="no update-alternatives here")
NO_ALTERNATIVES = cuda_switch.Alternatives(binary="/nonexistent/update-alternatives")


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
    with pytest.raises(cuda_switch.SwitchError, match="real folder or file, not a link.*nothing was changed"):
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
    lock = str(tmp_path / "switch.lock")
    assert cuda_switch.main(["--prefix", str(tmp_path), "--lock-file", lock, "13.0"]) == 0
    assert os.path.isfile(lock)
    assert "CUDA 13.0 is the default" in capsys.readouterr().out
    assert cuda_switch.main(["--prefix", str(tmp_path), "--list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("  12.4") and listing[1].startswith("* 13.0")
    assert cuda_switch.main(["--prefix", str(tmp_path), "--lock-file", lock, "11.8"]) == 1
    assert "installed: 12.4, 13.0" in capsys.readouterr().err


def test_a_link_reaching_the_toolkit_through_another_link_is_pointed_at_it_directly(tmp_path):
    prefix = str(tmp_path)
    target = toolkit(tmp_path, "12.4")
    os.symlink(target, prefix + "/elsewhere")
    os.symlink(prefix + "/elsewhere", prefix + "/cuda")
    steps = cuda_switch.plan(prefix, "12.4", major_link=False, alternatives=NO_ALTERNATIVES)
    assert steps[0].current == prefix + "/elsewhere"
    assert cuda_switch.apply(steps, NO_ALTERNATIVES) == [prefix + "/cuda"]
    assert os.readlink(prefix + "/cuda") == target
    assert os.readlink(prefix + "/elsewhere") == target


def snapshot(*roots):
    """Every path under the roots with what it is: link target, file digest and mode, or folder."""
    seen = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    seen[path] = ("link", os.readlink(path))
                elif os.path.isfile(path):
                    with open(path, "rb") as handle:
                        seen[path] = ("file", hashlib.sha256(handle.read()).hexdigest(), os.stat(path).st_mode)
                else:
                    seen[path] = ("dir", os.stat(path).st_mode)
    return seen


def system_alternatives():
    folder = "/etc/alternatives"
    return dict((n, os.readlink(os.path.join(folder, n))) for n in os.listdir(folder)
                if os.path.islink(os.path.join(folder, n))) if os.path.isdir(folder) else {}


def alt_tree(tmp_path):
    """A prefix with 12.4 and 12.8, and update-alternatives folders of its own."""
    prefix, altdir, admindir = (str(tmp_path / d) for d in ("prefix", "alt", "admin"))
    for folder in (prefix, altdir, admindir):
        os.makedirs(folder)
    toolkit(prefix, "12.4")
    toolkit(prefix, "12.8")
    return prefix, cuda_switch.Alternatives(UPDATE_ALTERNATIVES, altdir, admindir)


@needs_update_alternatives
def test_switches_the_cuda_alternative_by_its_name_and_keeps_it_manual(tmp_path):
    prefix, alts = alt_tree(tmp_path)
    cuda_switch.run(alts.command("--install", prefix + "/cuda", "cuda", prefix + "/cuda-12.8", "128"))
    steps = cuda_switch.plan(prefix, "12.8", major_link=False, alternatives=alts)
    assert steps == [cuda_switch.Step(prefix + "/cuda", prefix + "/cuda-12.8", prefix + "/cuda-12.8", "cuda", "auto")]
    # The right toolkit already, but in auto mode: the next package install could move it, so it is set manual.
    assert cuda_switch.apply(steps, alts) == [prefix + "/cuda"]
    assert alts.query("cuda")["status"] == "manual"
    assert cuda_switch.apply(cuda_switch.plan(prefix, "12.8", major_link=False, alternatives=alts), alts) == []
    # 12.4 is not registered yet: it is, then chosen.
    assert cuda_switch.switch(prefix, "12.4", alternatives=alts, lock_file=str(tmp_path / "lock"))[1] == [
        prefix + "/cuda", prefix + "/cuda-12"]
    info = alts.query("cuda")
    assert (info["value"], info["status"]) == (prefix + "/cuda-12.4", "manual")
    assert sorted(info["alternatives"]) == [prefix + "/cuda-12.4", prefix + "/cuda-12.8"]
    assert os.readlink(prefix + "/cuda") == alts.altdir + "/cuda"
    assert os.path.realpath(prefix + "/cuda") == prefix + "/cuda-12.4"
    assert os.readlink(prefix + "/cuda-12") == prefix + "/cuda-12.4"  # a plain link: no cuda-12 alternative


@needs_update_alternatives
@pytest.mark.parametrize("foreign_link", ["elsewhere", "cuda"])
def test_a_link_into_a_foreign_alternative_is_refused_and_nothing_changes(tmp_path, foreign_link):
    """<prefix>/cuda -> <altdir>/foo: foo is never switched, whether foo's own link is elsewhere or this one."""
    prefix, alts = alt_tree(tmp_path)
    cuda_switch.run(alts.command("--install", prefix + "/" + foreign_link, "foo", prefix + "/cuda-12.4", "10"))
    if foreign_link != "cuda":
        os.symlink(alts.altdir + "/foo", prefix + "/cuda")
    before, system_before = snapshot(str(tmp_path)), system_alternatives()
    with pytest.raises(cuda_switch.SwitchError) as raised:
        cuda_switch.switch(prefix, "12.8", alternatives=alts, lock_file=str(tmp_path / "lock"))
    assert str(raised.value) == (
        "%s/cuda points at %s/foo, which update-alternatives does not manage as cuda (the only alternative names "
        "cuda-switch changes are cuda and cuda-X): nothing was changed. Remove the link (or `update-alternatives "
        "--remove-all foo` if foo is yours to drop), then switch" % (prefix, alts.altdir))
    assert snapshot(str(tmp_path)) == before  # not even the lock file was created
    assert system_alternatives() == system_before
    assert alts.query("foo")["value"] == prefix + "/cuda-12.4"


@needs_update_alternatives
def test_the_cuda_alternatives_value_is_not_followed_into_another_alternative(tmp_path):
    """/etc/alternatives/cuda -> a path that alternative bar manages: switching sets cuda only, bar stays."""
    prefix, alts = alt_tree(tmp_path)
    cuda_switch.run(alts.command("--install", prefix + "/bar-link", "bar", prefix + "/cuda-12.8", "10"))
    cuda_switch.run(alts.command("--install", prefix + "/cuda", "cuda", prefix + "/bar-link", "10"))
    bar_before = snapshot(alts.admindir + "/bar", alts.altdir)[alts.altdir + "/bar"], open(alts.admindir + "/bar").read()
    steps = cuda_switch.plan(prefix, "12.8", major_link=False, alternatives=alts)
    # It leads to 12.8 through bar, but the cuda alternative's own value is bar's link: it changes.
    assert steps[0].current == prefix + "/bar-link"
    assert cuda_switch.apply(steps, alts) == [prefix + "/cuda"]
    assert alts.query("cuda")["value"] == prefix + "/cuda-12.8"
    bar_after = snapshot(alts.altdir)[alts.altdir + "/bar"], open(alts.admindir + "/bar").read()
    assert bar_after == bar_before
    assert alts.query("bar")["value"] == prefix + "/cuda-12.8"


@needs_update_alternatives
def test_the_cuda_alternatives_link_pointing_elsewhere_is_refused(tmp_path):
    prefix, alts = alt_tree(tmp_path)
    cuda_switch.run(alts.command("--install", prefix + "/cuda", "cuda", prefix + "/cuda-12.4", "124"))
    cuda_switch.replace_link(prefix + "/cuda", prefix + "/cuda-12.4")  # someone replaced the managed link
    before = snapshot(str(tmp_path))
    with pytest.raises(cuda_switch.SwitchError, match=r"is the link of the update-alternatives name cuda but points "
                       r"at .*/cuda-12\.4.*update-alternatives --auto cuda.*nothing was changed"):
        cuda_switch.plan(prefix, "12.8", alternatives=alts)
    assert snapshot(str(tmp_path)) == before


def test_parse_query_reads_the_fields_a_switch_needs():
    text = ("Name: cuda\nLink: /usr/local/cuda\nStatus: manual\nBest: /usr/local/cuda-13.0\nValue: none\n\n"
            "Alternative: /usr/local/cuda-12.8\nPriority: 128\n\nAlternative: /usr/local/cuda-13.0\nPriority: 130\n")
    assert cuda_switch.parse_query(text) == {
        "name": "cuda", "link": "/usr/local/cuda", "status": "manual", "value": None,
        "alternatives": ["/usr/local/cuda-12.8", "/usr/local/cuda-13.0"]}


def _switcher(prefix, series, lock_file, rounds, start, disagreements, saw_other, done):
    start.wait()
    bad = other = 0
    mine = prefix + "/cuda-" + series
    for _i in range(rounds):
        with cuda_switch.lock(lock_file):
            other += os.readlink(prefix + "/cuda") not in (mine, None) if os.path.lexists(prefix + "/cuda") else 0
        cuda_switch.switch(prefix, series, alternatives=NO_ALTERNATIVES, lock_file=lock_file)
        with cuda_switch.lock(lock_file):
            if os.readlink(prefix + "/cuda") != os.readlink(prefix + "/cuda-12"):
                bad += 1
        time.sleep(0.002)  # a gap outside the lock, so the other switcher (polling for it) gets its turns
    with disagreements.get_lock():
        disagreements.value += bad
    saw_other.value = other
    done.value = 1


def _slow_rename(original):
    def replace_link(link, target):
        original(link, target)
        time.sleep(0.0005)  # widen the window between the two links' renames, as a loaded host would
    return replace_link


@pytest.mark.parametrize("rounds", [150])
def test_two_switches_at_once_always_leave_both_links_at_one_toolkit(tmp_path, monkeypatch, rounds):
    """Both switchers start together on a fresh tree (so both also make the lock's folder at once: that race once
    failed this test), and each must see the other's switch between its own ones: they really interleaved."""
    prefix = str(tmp_path)
    toolkit(tmp_path, "12.4")
    toolkit(tmp_path, "12.8")  # same major: both switches move cuda and cuda-12
    lock_file = str(tmp_path / "run" / "switch.lock")
    monkeypatch.setattr(cuda_switch, "replace_link", _slow_rename(cuda_switch.replace_link))
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    disagreements = ctx.Value("i", 0, lock=True)
    done = [ctx.Value("i", 0) for _i in range(2)]
    saw_other = [ctx.Value("i", 0) for _i in range(2)]
    workers = [ctx.Process(target=_switcher, args=(prefix, series, lock_file, rounds, start, disagreements, other, flag))
               for series, flag, other in zip(("12.4", "12.8"), done, saw_other)]
    for proc in workers:
        proc.start()
    start.set()
    for proc in workers:
        proc.join(120)
    assert [proc.exitcode for proc in workers] == [0, 0]
    assert [flag.value for flag in done] == [1, 1]
    assert disagreements.value == 0
    assert min(other.value for other in saw_other) >= 1, [other.value for other in saw_other]
    assert os.readlink(prefix + "/cuda") == os.readlink(prefix + "/cuda-12")
    assert os.readlink(prefix + "/cuda") in (prefix + "/cuda-12.4", prefix + "/cuda-12.8")
    assert not [n for n in os.listdir(prefix) if ".dlops-" in n]


def _take_lock(folder, results):
    try:
        with cuda_switch.lock(folder + "/switch.lock", timeout=30):
            results.put("ok")
    except cuda_switch.SwitchError as exc:
        results.put(str(exc))


def test_switches_making_the_lock_folder_at_once_all_get_the_lock(tmp_path):
    """Several switches find the folder missing and make it together: none fails (EEXIST means another made it)."""
    ctx = multiprocessing.get_context("fork")
    for i in range(15):
        folder = str(tmp_path / ("run%d" % i))
        results = ctx.Queue()
        procs = [ctx.Process(target=_take_lock, args=(folder, results)) for _j in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert sorted(results.get(timeout=5) for _proc in procs) == ["ok"] * 4
        assert oct(os.stat(folder).st_mode & 0o7777) == "0o755"


def test_the_lock_folder_is_made_0755_and_the_lock_file_0600(tmp_path):
    old_umask = os.umask(0o022)
    try:
        with cuda_switch.lock(str(tmp_path / "run" / "switch.lock")) as path:
            assert path == str(tmp_path / "run" / "switch.lock")
    finally:
        os.umask(old_umask)
    assert [oct(os.stat(str(p)).st_mode & 0o7777) for p in (tmp_path / "run", tmp_path / "run" / "switch.lock")] == [
        "0o755", "0o600"]
    os.chmod(str(tmp_path / "run" / "switch.lock"), 0o644)  # readable is enough to flock it: taken back to 0600
    with cuda_switch.lock(str(tmp_path / "run" / "switch.lock")):
        pass
    assert os.stat(str(tmp_path / "run" / "switch.lock")).st_mode & 0o7777 == 0o600


def test_the_default_lock_is_in_a_folder_of_its_own_not_the_world_writable_run_lock():
    assert cuda_switch.LOCK_FILE == "/run/dlops-gpu/cuda-switch.lock"
    assert cuda_switch.LOCK_TIMEOUT == 60


def switch_tree(tmp_path):
    prefix = tmp_path / "prefix"
    toolkit(prefix, "12.4")
    toolkit(prefix, "12.8")
    cuda_switch.apply(cuda_switch.plan(str(prefix), "12.4", alternatives=NO_ALTERNATIVES), NO_ALTERNATIVES)
    return str(prefix)


def test_a_symlink_planted_at_the_lock_path_is_refused_and_its_target_not_created(tmp_path):
    prefix = switch_tree(tmp_path)
    os.mkdir(str(tmp_path / "run"), 0o755)
    os.symlink(str(tmp_path / "created_by_root"), str(tmp_path / "run" / "switch.lock"))
    os.symlink(str(tmp_path / "victim"), str(tmp_path / "run" / "other.lock"))
    (tmp_path / "victim").write_text("keep\n")
    before = snapshot(str(tmp_path))
    for name in ("switch.lock", "other.lock"):
        lock_file = str(tmp_path / "run" / name)
        with pytest.raises(cuda_switch.SwitchError) as raised:
            cuda_switch.switch(prefix, "12.8", alternatives=NO_ALTERNATIVES, lock_file=lock_file)
        assert str(raised.value) == ("the switch lock %s is a symbolic link: a switch never follows it; remove it, "
                                     "then switch; nothing was changed" % lock_file)
    assert not os.path.lexists(str(tmp_path / "created_by_root"))
    assert snapshot(str(tmp_path)) == before  # links, victim's bytes and mode as they were


@pytest.mark.parametrize("folder", ["world-writable", "group-writable", "symlink", "file"])
def test_a_lock_folder_others_could_write_or_that_is_not_a_folder_is_refused(tmp_path, folder):
    prefix = switch_tree(tmp_path)
    run = str(tmp_path / "run")
    if folder == "world-writable":
        os.mkdir(run)
        os.chmod(run, 0o1777)  # /run/lock, /tmp
    elif folder == "group-writable":
        os.mkdir(run)
        os.chmod(run, 0o775)
    elif folder == "symlink":
        os.mkdir(str(tmp_path / "real"), 0o755)
        os.symlink(str(tmp_path / "real"), run)
    else:
        open(run, "w").close()
    before = snapshot(str(tmp_path))
    with pytest.raises(cuda_switch.SwitchError) as raised:
        cuda_switch.switch(prefix, "12.8", alternatives=NO_ALTERNATIVES, lock_file=run + "/switch.lock")
    message = str(raised.value)
    assert message.startswith("the switch lock's folder %s " % run)
    assert {"world-writable": "with mode 1777: it must be owned by root and writable by root alone",
            "group-writable": "with mode 0775: it must be owned by root and writable by root alone",
            "symlink": "is a symbolic link, not a folder",
            "file": "cannot be opened as a folder (Not a directory)"}[folder] in message
    assert message.endswith("a switch makes it again, root-owned, mode 0755), then switch; nothing was changed")
    assert snapshot(str(tmp_path)) == before
    assert os.readlink(prefix + "/cuda") == prefix + "/cuda-12.4"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another uid")
@pytest.mark.parametrize("what", ["lock", "folder"])
def test_a_lock_or_folder_owned_by_another_uid_is_refused(tmp_path, what):
    prefix = switch_tree(tmp_path)
    run = str(tmp_path / "run")
    os.mkdir(run, 0o755)
    open(run + "/switch.lock", "w").close()
    os.chmod(run + "/switch.lock", 0o600)
    os.chown(run + "/switch.lock" if what == "lock" else run, 65534, 65534)
    before = snapshot(str(tmp_path))
    with pytest.raises(cuda_switch.SwitchError) as raised:
        cuda_switch.switch(prefix, "12.8", alternatives=NO_ALTERNATIVES, lock_file=run + "/switch.lock")
    if what == "lock":
        assert str(raised.value) == ("the switch lock %s/switch.lock is owned by uid 65534, not by uid 0 (the user "
                                     "switching): someone else made it; remove it, then switch; nothing was changed" % run)
    else:
        assert str(raised.value).startswith("the switch lock's folder %s is owned by uid 65534 with mode 0755" % run)
    assert snapshot(str(tmp_path)) == before
    assert os.stat(run + "/switch.lock" if what == "lock" else run).st_uid == 65534


HOLD = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"


def test_a_held_lock_times_out_naming_the_lock_and_the_pid_holding_it(tmp_path, capsys, monkeypatch):
    prefix = switch_tree(tmp_path)
    lock_file = str(tmp_path / "run" / "switch.lock")
    with cuda_switch.lock(lock_file):
        pass  # made by the switching user, as a real one is
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock_file], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        before = snapshot(str(tmp_path))
        started = time.time()
        with pytest.raises(cuda_switch.SwitchError) as raised:
            cuda_switch.switch(prefix, "12.8", alternatives=NO_ALTERNATIVES, lock_file=lock_file, lock_timeout=0.5)
        assert 0.5 <= time.time() - started < 10
        assert str(raised.value).startswith("the switch lock %s is held by pid %d (%s -c import fcntl"
                                            % (lock_file, holder.pid, sys.executable))
        assert str(raised.value).endswith(
            "and was not released within 0.5 s: another switch (the cuda_select module, cuda-switch, or a script under "
            "`flock %s`) is running or hangs; wait for it or stop it, then switch again; nothing was changed" % lock_file)
        assert snapshot(str(tmp_path)) == before
        monkeypatch.setattr(cuda_switch.subprocess, "call", lambda cmd: 0)  # ldconfig
        assert cuda_switch.main(["--prefix", prefix, "--lock-file", lock_file, "--lock-timeout", "0.2", "12.8"]) == 1
        assert "is held by pid %d" % holder.pid in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    # Released: the switch goes through.
    assert cuda_switch.switch(prefix, "12.8", alternatives=NO_ALTERNATIVES, lock_file=lock_file, lock_timeout=5)[1] == [
        prefix + "/cuda", prefix + "/cuda-12"]


def test_lock_holders_reads_proc_locks_leaving_waiters_out(tmp_path):
    lock_file = tmp_path / "switch.lock"
    lock_file.write_text("")
    info = os.stat(str(lock_file))
    device = "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    (tmp_path / "locks").write_text(
        "1: POSIX  ADVISORY  WRITE 111 00:01:%d 0 EOF\n"
        "2: FLOCK  ADVISORY  WRITE 4242 %s 0 EOF\n"
        "2: -> FLOCK  ADVISORY  WRITE 5151 %s 0 EOF\n"
        "3: OFDLCK ADVISORY  READ  -1 %s 0 EOF\n" % (info.st_ino + 1, device, device, device))
    assert cuda_switch.lock_holders(info, str(tmp_path / "locks")) == [4242]
    assert cuda_switch.lock_holders(info, str(tmp_path / "missing")) == []
