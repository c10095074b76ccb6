"""Hostile redist archives: every refusal names the archive and the member, and changes nothing outside the tree.

Archives are built here with tarfile. Each refusal test snapshots the whole temporary tree (the toolkit prefix,
a folder "outside" with a file an attacker wants, the archives) before and after: equal snapshots mean nothing
outside was created, overwritten, re-permissioned or moved, and no staging folder or toolkit was left.
"""

import io
import os
import re
import stat
import tarfile

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import redist

TOP = "cuda_cudart-linux-x86_64-12.8.90-archive"


def snapshot(root):
    """{relative path: (type, mode, content or link target)} of everything under root, links not followed."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for entry in dirs + files:
            path = os.path.join(folder, entry)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                what = ("link", None, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                what = ("dir", stat.S_IMODE(info.st_mode), None)
            else:
                with open(path, "rb") as handle:
                    what = ("file", stat.S_IMODE(info.st_mode), handle.read())
            found[os.path.relpath(path, root)] = what + (info.st_uid, info.st_ino)
    return found


def entry(name, kind="file", data=b"", mode=None, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                 "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
    info.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o644)
    info.linkname = linkname
    info.uid = info.gid = 1000
    info.uname = info.gname = "builder"
    info.mtime = 1577836800
    if kind == "file":
        info.size = len(data)
    return info, (io.BytesIO(data) if kind == "file" else None)


def build(path, members, mode="w:xz", encoding="utf-8"):
    """An archive of [(TarInfo, data)]; returns the component redist_fetch would hand over for it."""
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT, encoding=encoding) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return {"name": "cuda_cudart", "title": "CUDA Runtime (cudart)", "version": "12.8.90",
            "relative_path": os.path.basename(path), "sha256": redist.sha256_file(path)}


@pytest.fixture
def tree(tmp_path):
    """tmp/usr-local (empty prefix), tmp/outside (what an archive must not reach), tmp/archives."""
    (tmp_path / "usr-local").mkdir()
    (tmp_path / "outside" / "inc").mkdir(parents=True)
    (tmp_path / "outside" / "victim.txt").write_bytes(b"precious")
    os.chmod(str(tmp_path / "outside" / "victim.txt"), 0o600)
    (tmp_path / "archives").mkdir()
    return tmp_path


def install(tree, component):
    return redist.install_toolkit(str(tree / "usr-local"), "12.8.1", {"cuda_cudart": component}, "linux-x86_64",
                                  lambda c: str(tree / "archives" / c["relative_path"]))


def assert_refused(tree, members, member, why, **kwargs):
    """Install an archive of members: refused, naming archive and member, with nothing changed."""
    path = str(tree / "archives" / "evil.tar.xz")
    component = build(path, [entry(TOP, "dir")] + members, **kwargs)
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError) as raised:
        install(tree, component)
    message = str(raised.value)
    assert "archive %s, member '%s'" % (path, member) in message or "archive %s" % path in message and \
        member in message, message
    assert re.search(why, message), message
    assert snapshot(str(tree)) == before
    assert os.listdir(str(tree / "usr-local")) == []
    return message


VICTIM_REL = "../../../outside/victim.txt"  # from staging/lib: staging -> usr-local -> tmp


@pytest.mark.parametrize("members, member, why", [
    # absolute names and '..'
    (lambda t: [entry(str(t / "outside" / "victim.txt"), data=b"owned")], "{victim}", "is absolute"),
    (lambda t: [entry(TOP + "/../../../outside/victim.txt", data=b"owned")], TOP + "/../../../outside/victim.txt",
     "climbs out with '..'"),
    # links leading out, directly, chained, climbing through other links
    (lambda t: [entry(TOP + "/lib", "dir"), entry(TOP + "/lib/evil", "sym", linkname="{victim}")],
     TOP + "/lib/evil", "link to the absolute path"),
    (lambda t: [entry(TOP + "/lib", "dir"), entry(TOP + "/lib/evil", "sym", linkname=VICTIM_REL)],
     TOP + "/lib/evil", "outside the folder it unpacks into"),
    (lambda t: [entry(TOP + "/a", "sym", linkname="b"), entry(TOP + "/b", "sym", linkname="c"),
                entry(TOP + "/c", "sym", linkname="../../outside")], TOP + "/c", "leads to .*outside"),
    (lambda t: [entry(TOP + "/d", "dir"), entry(TOP + "/d/up", "sym", linkname=".."),
                entry(TOP + "/d/out", "sym", linkname="up/..")], TOP + "/d/out", "leads to .*usr-local, outside"),
    # a link that only leads out once a later link exists: caught when written through, and at the end
    (lambda t: [entry(TOP + "/l", "sym", linkname="x/.."), entry(TOP + "/x", "sym", linkname="."),
                entry(TOP + "/l/planted", data=b"owned")], TOP + "/l/planted", "its folder leads to .*usr-local"),
    (lambda t: [entry(TOP + "/l", "sym", linkname="x/.."), entry(TOP + "/x", "sym", linkname=".")],
     TOP + "/l", "the link leads to .*usr-local once the archive is unpacked"),
    # include/ is a link out; a file written through it
    (lambda t: [entry(TOP + "/include", "sym", linkname="../../outside/inc")], TOP + "/include", "outside"),
    (lambda t: [entry(TOP + "/lib", "dir"), entry(TOP + "/include", "sym", linkname="lib"),
                entry(TOP + "/include/cuda.h", data=b"x"), entry(TOP + "/include", "dir")],
     TOP + "/include", "is a link already"),
    (lambda t: [entry(TOP + "/lib", "dir"), entry(TOP + "/lib/libx.so.1", data=b"x"),
                entry(TOP + "/lib/libx.so", "sym", linkname="libx.so.1"), entry(TOP + "/lib/libx.so", data=b"y")],
     TOP + "/lib/libx.so", "is a link already: it would be written through"),
    # hard links: absolute, '..', through links, to nothing
    (lambda t: [entry(TOP + "/h", "hard", linkname="{victim}")], TOP + "/h", "hard link target .* is absolute"),
    (lambda t: [entry(TOP + "/h", "hard", linkname=TOP + "/../../outside/victim.txt")], TOP + "/h",
     "climbs out with '..'"),
    (lambda t: [entry(TOP + "/l", "sym", linkname="x/y/../.."), entry(TOP + "/x", "sym", linkname="."),
                entry(TOP + "/y", "sym", linkname="."), entry(TOP + "/h", "hard", linkname=TOP + "/l/outside/victim.txt")],
     TOP + "/h", "hard link to .*, which leads to .*outside/victim.txt, outside"),
    (lambda t: [entry(TOP + "/h", "hard", linkname=TOP + "/nothing")], TOP + "/h", "not a file unpacked before it"),
    # special files
    (lambda t: [entry(TOP + "/dev/sda", "blk")], TOP + "/dev/sda", "device, fifo"),
    (lambda t: [entry(TOP + "/dev/null", "chr")], TOP + "/dev/null", "device, fifo"),
    (lambda t: [entry(TOP + "/pipe", "fifo")], TOP + "/pipe", "device, fifo"),
    # something beside the top folder
    (lambda t: [entry("stray", data=b"x")], "stray", "not inside the archive's top folder"),
], ids=["absolute", "dotdot", "link-absolute", "link-relative-out", "link-chain", "link-climbs-through-link",
        "late-link-written-through", "late-link-at-end", "include-link-out", "dir-over-link", "file-over-link",
        "hard-absolute", "hard-dotdot", "hard-through-links", "hard-to-nothing", "block", "char", "fifo", "stray"])
def test_a_hostile_archive_is_refused_and_changes_nothing(tree, members, member, why):
    victim = str(tree / "outside" / "victim.txt")
    built = []
    for info, data in members(tree):
        info.name = info.name.replace("{victim}", victim)
        info.linkname = info.linkname.replace("{victim}", victim)
        built.append((info, data))
    assert_refused(tree, built, member.replace("{victim}", victim), why)
    assert (tree / "outside" / "victim.txt").read_bytes() == b"precious"


def test_a_name_that_is_not_utf8_is_refused(tree):
    message = assert_refused(tree, [entry(TOP + "/caf\xe9.h", data=b"x")], TOP + "/caf\\xe9.h", "name is not UTF-8",
                             encoding="latin-1")
    assert "\\xe9" in message


def test_a_link_target_that_is_not_utf8_is_refused(tree):
    assert_refused(tree, [entry(TOP + "/l", "sym", linkname="caf\xe9")], TOP + "/l", "link target is not UTF-8",
                   encoding="latin-1")


@pytest.mark.parametrize("mode", ["w:xz", "w"])
def test_a_truncated_archive_is_refused(tree, mode):
    path = str(tree / "archives" / "cut.tar")
    big = bytes(bytearray(os.urandom(1 << 16)))
    build(path, [entry(TOP, "dir"), entry(TOP + "/lib", "dir"), entry(TOP + "/lib/libbig.so.1", data=big)], mode=mode)
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[:len(data) // 2])
    component = {"name": "cuda_cudart", "version": "12.8.90", "relative_path": "cut.tar",
                 "sha256": redist.sha256_file(path)}
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError, match=r"archive %s is truncated or damaged" % re.escape(path)) as raised:
        install(tree, component)
    assert TOP + "/lib/libbig.so.1" in str(raised.value) or "after member" in str(raised.value)
    assert snapshot(str(tree)) == before


def test_garbage_is_refused_naming_the_archive(tree):
    path = str(tree / "archives" / "garbage.tar.xz")
    with open(path, "wb") as handle:
        handle.write(b"\xfd7zXZ\x00" + b"\x00" * 200)
    component = {"name": "cuda_cudart", "version": "12.8.90", "relative_path": "garbage.tar.xz",
                 "sha256": redist.sha256_file(path)}
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError, match=r"archive %s cannot be read" % re.escape(path)):
        install(tree, component)
    assert snapshot(str(tree)) == before


def nvidia_shaped(path, top=TOP):
    return build(path, [
        entry(top, "dir"),
        entry(top + "/bin", "dir"),
        entry(top + "/bin/nvfoo", data=b"#!/bin/sh\n", mode=0o4777),
        entry(top + "/include", "dir", mode=0o2777),
        entry(top + "/include/foo.h", data=b"/* foo */", mode=0o666),
        entry(top + "/lib", "dir"),
        entry(top + "/lib/libfoo.so.1.2", data=b"ELF foo", mode=0o755),
        entry(top + "/lib/libfoo.so.1", "sym", linkname="libfoo.so.1.2"),
        entry(top + "/lib/libfoo.so", "sym", linkname="libfoo.so.1"),
        entry(top + "/lib/libfoo_static.a", "hard", linkname=top + "/lib/libfoo.so.1.2"),
        entry(top + "/lib/stubs/libfoo.so", "sym", linkname="../libfoo.so"),
        entry(top + "/LICENSE", data=b"licence", mode=0o444),
    ])


def test_a_normal_nvidia_archive_installs(tree):
    before = snapshot(str(tree / "outside"))
    component = nvidia_shaped(str(tree / "archives" / "good.tar.xz"))
    target = install(tree, component)
    root = tree / "usr-local" / "cuda-12.8"
    assert target == str(root)
    assert sorted(os.listdir(str(tree / "usr-local"))) == ["cuda-12.8"]
    assert (root / "lib" / "libfoo.so").read_bytes() == b"ELF foo"
    assert os.readlink(str(root / "lib" / "libfoo.so")) == "libfoo.so.1"
    assert os.readlink(str(root / "lib" / "libfoo.so.1")) == "libfoo.so.1.2"
    assert (root / "lib64" / "stubs" / "libfoo.so").read_bytes() == b"ELF foo"
    assert os.path.samefile(str(root / "lib" / "libfoo_static.a"), str(root / "lib" / "libfoo.so.1.2"))
    assert (root / "licenses" / "cuda_cudart" / "LICENSE").read_bytes() == b"licence"
    modes = dict((p, stat.S_IMODE(os.lstat(str(root / p)).st_mode)) for p in
                 ("bin/nvfoo", "include", "include/foo.h", "lib/libfoo.so.1.2", "licenses/cuda_cudart/LICENSE", "lib"))
    assert modes == {"bin/nvfoo": 0o755, "include": 0o755, "include/foo.h": 0o644, "lib/libfoo.so.1.2": 0o755,
                     "licenses/cuda_cudart/LICENSE": 0o644, "lib": 0o755}
    owners = set(os.lstat(os.path.join(folder, e)).st_uid for folder, dirs, files in os.walk(str(root))
                 for e in dirs + files)
    assert owners == set([os.geteuid()])  # root when run as root, as on hosts; never the archive's uid 1000
    assert redist.read_record(target)["cuda_cudart"]["version"] == "12.8.90"
    assert snapshot(str(tree / "outside")) == before


def test_links_inside_through_other_links_are_fine(tree):
    component = build(str(tree / "archives" / "ok.tar.xz"), [
        entry(TOP, "dir"), entry(TOP + "/targets/x86_64-linux/include", "dir"),
        entry(TOP + "/include", "sym", linkname="targets/x86_64-linux/include"),
        entry(TOP + "/include/cuda.h", data=b"/* cuda */"),
        entry(TOP + "/targets/x86_64-linux/up", "sym", linkname="../.."),
        entry(TOP + "/targets/x86_64-linux/up/version.txt", data=b"12.8")])
    root = tree / "usr-local" / "cuda-12.8"
    install(tree, component)
    assert (root / "targets" / "x86_64-linux" / "include" / "cuda.h").read_bytes() == b"/* cuda */"
    assert (root / "version.txt").read_bytes() == b"12.8"


# cuDNN into a toolkit ---------------------------------------------------------

CUDNN_TOP = "cudnn-linux-x86_64-9.13.0.50_cuda12-archive"


def cudnn_entry(path, members):
    found = build(path, [entry(CUDNN_TOP, "dir")] + members)
    found.update(name="cudnn", title="cuDNN", version="9.13.0.50", variant="cuda12")
    return found


def cudnn_members():
    return [entry(CUDNN_TOP + "/include", "dir"), entry(CUDNN_TOP + "/include/cudnn.h", data=b"/* 9 */"),
            entry(CUDNN_TOP + "/lib", "dir"), entry(CUDNN_TOP + "/lib/libcudnn.so.9.13.0", data=b"ELF cudnn"),
            entry(CUDNN_TOP + "/lib/libcudnn.so.9", "sym", linkname="libcudnn.so.9.13.0"),
            entry(CUDNN_TOP + "/lib/libcudnn.so", "sym", linkname="libcudnn.so.9"),
            entry(CUDNN_TOP + "/LICENSE", data=b"cudnn licence")]


@pytest.fixture
def toolkit(tree):
    root = tree / "usr-local" / "cuda-12.8"
    (root / "lib").mkdir(parents=True)
    os.symlink("lib", str(root / "lib64"))
    (root / "include").mkdir()
    (root / "include" / "cuda.h").write_bytes(b"/* cuda */")
    redist.write_record(str(root), {"cuda": {"version": "12.8.1"}})
    return root


def assert_cudnn_refused(tree, toolkit, members, why, member=None):
    path = str(tree / "archives" / "cudnn.tar.xz")
    cudnn = cudnn_entry(path, members)
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError) as raised:
        redist.install_cudnn(str(toolkit), cudnn, path)
    message = str(raised.value)
    assert re.search(why, message), message
    assert path in message or "outside the toolkit" in message, message
    if member:
        assert "member '%s'" % member in message, message
    assert snapshot(str(tree)) == before
    assert not (toolkit / ".dlops-staging-cudnn").exists()


def test_cudnn_installs_into_a_toolkit_whose_include_is_a_link_inside_it(tree, toolkit):
    (toolkit / "targets" / "x86_64-linux").mkdir(parents=True)
    os.rename(str(toolkit / "include"), str(toolkit / "targets" / "x86_64-linux" / "include"))
    os.symlink("targets/x86_64-linux/include", str(toolkit / "include"))
    path = str(tree / "archives" / "cudnn.tar.xz")
    cudnn = cudnn_entry(path, cudnn_members())
    redist.install_cudnn(str(toolkit), cudnn, path)
    assert (toolkit / "targets" / "x86_64-linux" / "include" / "cudnn.h").read_bytes() == b"/* 9 */"
    assert (toolkit / "lib64" / "libcudnn.so").read_bytes() == b"ELF cudnn"
    assert os.readlink(str(toolkit / "lib" / "libcudnn.so")) == "libcudnn.so.9"
    assert (toolkit / "licenses" / "cudnn" / "LICENSE").read_bytes() == b"cudnn licence"
    assert redist.read_record(str(toolkit))["cudnn"]["version"] == "9.13.0.50"
    assert not (toolkit / ".dlops-staging-cudnn").exists()
    redist.remove_cudnn(str(toolkit))
    assert redist.cudnn_files(str(toolkit)) == []
    assert (toolkit / "include" / "cuda.h").exists()


def test_cudnn_refuses_a_toolkit_include_that_leads_outside(tree, toolkit):
    os.rename(str(toolkit / "include"), str(tree / "outside" / "inc" / "moved"))
    os.symlink(str(tree / "outside" / "inc"), str(toolkit / "include"))
    assert_cudnn_refused(tree, toolkit, cudnn_members(), r"include leads to .*outside/inc, outside the toolkit")


def test_cudnn_refuses_a_toolkit_lib_that_leads_outside(tree, toolkit):
    os.unlink(str(toolkit / "lib64"))
    os.symlink("../../outside/inc", str(toolkit / "lib64"))
    os.rmdir(str(toolkit / "lib"))
    os.symlink("lib64", str(toolkit / "lib"))
    assert_cudnn_refused(tree, toolkit, cudnn_members(), r"lib leads to .*outside/inc, outside the toolkit")


def test_cudnn_refuses_an_archive_whose_include_is_a_link(tree, toolkit):
    members = [entry(CUDNN_TOP + "/lib", "dir"), entry(CUDNN_TOP + "/lib/libcudnn.so.9", data=b"x"),
               entry(CUDNN_TOP + "/include", "sym", linkname="lib")]
    assert_cudnn_refused(tree, toolkit, members, r"its include is a link or a file, not a folder")


def test_cudnn_refuses_links_that_climb(tree, toolkit):
    members = cudnn_members() + [entry(CUDNN_TOP + "/include/cudnn_lib.h", "sym",
                                       linkname="../lib/libcudnn.so.9.13.0")]
    assert_cudnn_refused(tree, toolkit, members, r"climbs out of its folder",
                         member=CUDNN_TOP + "/include/cudnn_lib.h")


def test_cudnn_refuses_an_archive_that_leaves_the_staging_folder(tree, toolkit):
    members = cudnn_members() + [entry(CUDNN_TOP + "/lib/evil", "sym", linkname="../../lib/libcudnn.so.9")]
    assert_cudnn_refused(tree, toolkit, members, r"outside the folder it unpacks into",
                         member=CUDNN_TOP + "/lib/evil")


def test_cudnn_refuses_a_device_and_leaves_the_installed_cudnn(tree, toolkit):
    path = str(tree / "archives" / "old.tar.xz")
    redist.install_cudnn(str(toolkit), cudnn_entry(path, cudnn_members()), path)
    os.unlink(path)
    assert_cudnn_refused(tree, toolkit, cudnn_members() + [entry(CUDNN_TOP + "/lib/null", "chr")],
                         "device, fifo", member=CUDNN_TOP + "/lib/null")
    assert redist.read_record(str(toolkit))["cudnn"]["version"] == "9.13.0.50"


def test_remove_cudnn_does_not_follow_a_licenses_link_out(tree, toolkit):
    (tree / "outside" / "cudnn").mkdir()
    (tree / "outside" / "cudnn" / "keep").write_bytes(b"keep")
    os.symlink(str(tree / "outside"), str(toolkit / "licenses"))
    before = snapshot(str(tree / "outside"))
    redist.remove_cudnn(str(toolkit))
    assert snapshot(str(tree / "outside")) == before


def test_version_json_that_links_out_is_refused(tree, toolkit):
    os.unlink(str(toolkit / "version.json"))
    os.symlink(str(tree / "outside" / "victim.txt"), str(toolkit / "version.json"))
    with pytest.raises(redist.RedistError, match="version.json is a link to .*victim.txt, outside"):
        redist.write_record(str(toolkit), {"cuda": {"version": "12.8.1"}})
    assert (tree / "outside" / "victim.txt").read_bytes() == b"precious"


# Review findings ------------------------------------------------------------------------------------------------

def chain(count, top=TOP):
    """count links l0 -> l1 -> ... -> l<count>, then the folder l<count>."""
    return [entry(top + "/l%d" % i, "sym", linkname="l%d" % (i + 1)) for i in range(count)] + \
        [entry(top + "/l%d" % count, "dir")]


def test_a_chain_of_2000_links_is_refused_not_a_traceback(tree):
    assert_refused(tree, chain(2000) + [entry(TOP + "/l0/f", data=b"x")], TOP + "/l0/f",
                   "follows more than 40 links .*ELOOP", mode="w")


def test_a_chain_of_2000_links_alone_is_refused_at_the_end(tree):
    members = [entry(TOP + "/l%d" % i, "sym", linkname="l%d" % (i + 1)) for i in range(2000)]
    assert_refused(tree, members, TOP + "/l0", "once the archive is unpacked, resolving .* follows more than 40 links",
                   mode="w")


def test_a_loop_of_links_is_refused(tree):
    assert_refused(tree, [entry(TOP + "/a", "sym", linkname="b"), entry(TOP + "/b", "sym", linkname="a"),
                          entry(TOP + "/a/f", data=b"x")], TOP + "/a/f", "follows more than 40 links")


def test_forty_links_are_followed_as_the_kernel_does_and_forty_one_are_not(tree):
    component = build(str(tree / "archives" / "ok.tar.xz"),
                      [entry(TOP, "dir")] + chain(40) + [entry(TOP + "/l0/f", data=b"deep")])
    install(tree, component)
    assert (tree / "usr-local" / "cuda-12.8" / "l40" / "f").read_bytes() == b"deep"
    (tree / "archives" / "ok.tar.xz").unlink()
    redist.remove_toolkit(str(tree / "usr-local"), "12.8")
    assert_refused(tree, chain(41) + [entry(TOP + "/l0/f", data=b"x")], TOP + "/l0/f", "more than 40 links")


def test_real_path_is_realpath_within_the_limit(tmp_path):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_bytes(b"")
    os.symlink("b/c", str(tmp_path / "a" / "l"))
    os.symlink("../..", str(tmp_path / "a" / "b" / "c" / "up"))
    os.symlink(str(tmp_path / "a"), str(tmp_path / "abs"))
    os.symlink("nothing/x", str(tmp_path / "dangling"))
    for path in ("a/l", "a/l/up", "a/l/up/l/up/..", "abs/l/up/abs", "dangling", "dangling/../..", "a/b/f/../c",
                 "a/missing/../l", ".", "a/./b//c/"):
        full = os.path.join(str(tmp_path), path)
        assert redist.real_path(full) == os.path.realpath(full), path


def test_a_second_top_folder_is_refused(tree):
    assert_refused(tree, [entry(TOP + "/x", data=b"1"), entry("other", "dir"), entry("other/x", data=b"2")],
                   "other", r"it is in the top folder 'other', but the archive's top folder is '%s'" % TOP)


def test_a_hard_link_into_another_top_folder_is_refused(tree):
    assert_refused(tree, [entry(TOP + "/f", data=b"1"), entry(TOP + "/h", "hard", linkname="zzz/f")], TOP + "/h",
                   r"hard link to 'zzz/f', whose top folder 'zzz' is not the archive's top folder '%s'" % TOP)


def test_a_hard_link_within_the_top_folder_still_works(tree):
    component = build(str(tree / "archives" / "ok.tar.xz"), [
        entry(TOP, "dir"), entry(TOP + "/f", data=b"1"), entry("./" + TOP + "//h", "hard", linkname=TOP + "/./f")])
    install(tree, component)
    root = tree / "usr-local" / "cuda-12.8"
    assert os.path.samefile(str(root / "f"), str(root / "h"))


@pytest.mark.parametrize("members, member, why", [
    (lambda: [entry(CUDNN_TOP + "/include/cuda_runtime.h", data=b"evil")], CUDNN_TOP + "/include/cuda_runtime.h",
     r"cuDNN puts only cudnn\* files into the toolkit's include/, and 'cuda_runtime.h' would replace"),
    (lambda: [entry(CUDNN_TOP + "/lib/stubs", "dir"), entry(CUDNN_TOP + "/lib/stubs/x", data=b"x")],
     CUDNN_TOP + "/lib/stubs", r"only libcudnn\* files into the toolkit's lib/, and 'stubs' would replace or delete"),
    (lambda: [entry(CUDNN_TOP + "/lib/libcuda.so.1", data=b"x")], CUDNN_TOP + "/lib/libcuda.so.1",
     r"only libcudnn\* files"),
    (lambda: [entry(CUDNN_TOP + "/lib/cudnn_x.so", data=b"x")], CUDNN_TOP + "/lib/cudnn_x.so", r"only libcudnn\*"),
], ids=["toolkit-header", "stubs-folder", "libcuda", "lib-without-lib-prefix"])
def test_cudnn_may_not_replace_or_delete_toolkit_files(tree, toolkit, members, member, why):
    (toolkit / "include" / "cuda_runtime.h").write_bytes(b"/* toolkit */")
    (toolkit / "lib" / "stubs").mkdir()
    (toolkit / "lib" / "stubs" / "libcuda.so").write_bytes(b"stub")
    (toolkit / "lib" / "libcuda.so.1").write_bytes(b"driver")
    assert_cudnn_refused(tree, toolkit, cudnn_members() + members(), why, member=member)
    assert (toolkit / "include" / "cuda_runtime.h").read_bytes() == b"/* toolkit */"
    assert (toolkit / "lib" / "stubs" / "libcuda.so").read_bytes() == b"stub"
    assert redist.cudnn_files(str(toolkit)) == []


def _mirror_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "redist_mirror", os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "tools", "redist_mirror.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The files of NVIDIA's nvidia-cudnn-cu12 9.13.0.50 wheel (and cuDNN archives), as the mirror tool packs them.
CUDNN_WHEEL = ["include/cudnn.h", "include/cudnn_adv.h", "include/cudnn_backend.h", "include/cudnn_cnn.h",
               "include/cudnn_graph.h", "include/cudnn_ops.h", "include/cudnn_version.h", "lib/libcudnn.so.9",
               "lib/libcudnn_adv.so.9", "lib/libcudnn_cnn.so.9", "lib/libcudnn_engines_precompiled.so.9",
               "lib/libcudnn_engines_runtime_compiled.so.9", "lib/libcudnn_graph.so.9", "lib/libcudnn_heuristic.so.9",
               "lib/libcudnn_ops.so.9"]


def test_a_cudnn_archive_as_the_mirror_tool_builds_it_installs(tree, toolkit):
    import zipfile
    tool = _mirror_tool()
    wheel = str(tree / "nvidia_cudnn_cu12-9.13.0.50-py3-none-manylinux_2_27_x86_64.whl")
    with zipfile.ZipFile(wheel, "w") as zipped:
        for name in ["__init__.py", "include/__init__.py", "lib/__init__.py"] + CUDNN_WHEEL:
            zipped.writestr("nvidia/cudnn/" + name, name.encode())
        zipped.writestr("nvidia_cudnn_cu12-9.13.0.50.dist-info/License.txt", b"cudnn licence")
    path = str(tree / "archives" / "cudnn-linux-x86_64-9.13.0.50_cuda12-archive.tar.xz")
    tool.write_archive(path, CUDNN_TOP, tool.archive_members(wheel, "nvidia/cudnn"))
    os.unlink(wheel)
    cudnn = {"name": "cudnn", "title": "cuDNN", "version": "9.13.0.50", "variant": "cuda12",
             "relative_path": os.path.basename(path), "sha256": redist.sha256_file(path)}
    redist.install_cudnn(str(toolkit), cudnn, path)
    installed = sorted(os.path.relpath(p, str(toolkit)) for p in redist.cudnn_files(str(toolkit)))
    assert installed == sorted(CUDNN_WHEEL + [n.split(".so.", 1)[0] + ".so" for n in CUDNN_WHEEL if ".so." in n])
    assert (toolkit / "include" / "cuda.h").read_bytes() == b"/* cuda */"
    assert (toolkit / "licenses" / "cudnn" / "LICENSE").read_bytes() == b"cudnn licence"


def test_cudnn_refuses_a_version_json_that_links_out_before_moving_anything(tree, toolkit):
    os.unlink(str(toolkit / "version.json"))
    os.symlink(str(tree / "outside" / "victim.txt"), str(toolkit / "version.json"))
    path = str(tree / "archives" / "cudnn.tar.xz")
    cudnn = cudnn_entry(path, cudnn_members())
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError, match=r"version.json is a link to .*victim.txt, outside .*: make it a "
                                                 r"file; the toolkit was left as it was"):
        redist.install_cudnn(str(toolkit), cudnn, path)
    assert snapshot(str(tree)) == before
    assert redist.cudnn_files(str(toolkit)) == []
    assert (tree / "outside" / "victim.txt").read_bytes() == b"precious"


def test_remove_cudnn_refuses_a_version_json_that_links_out_before_removing_anything(tree, toolkit):
    path = str(tree / "archives" / "cudnn.tar.xz")
    redist.install_cudnn(str(toolkit), cudnn_entry(path, cudnn_members()), path)
    record = (toolkit / "version.json").read_bytes()
    os.unlink(str(toolkit / "version.json"))
    (tree / "outside" / "record.json").write_bytes(record)
    os.symlink(str(tree / "outside" / "record.json"), str(toolkit / "version.json"))
    before = snapshot(str(tree))
    with pytest.raises(redist.RedistError, match=r"version.json is a link to .*record.json, outside"):
        redist.remove_cudnn(str(toolkit))
    assert snapshot(str(tree)) == before
