"""Redist manifests (NVIDIA's real ones from fixtures/reference), archives, and the install-aside-then-rename path."""

import io
import json
import os
import tarfile

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import redist
from ...conftest import FIXTURES

REFERENCE = os.path.join(FIXTURES, "reference")


def manifest(name):
    with open(os.path.join(REFERENCE, name)) as handle:
        return json.load(handle)


def make_archive(path, top, files, links=None, extra=None):
    """A .tar.xz laid out like NVIDIA's: one top folder. files: {relative: bytes}."""
    with tarfile.open(path, "w:xz") as tar:
        info = tarfile.TarInfo(top)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(top + "/" + name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in sorted((links or {}).items()):
            info = tarfile.TarInfo(top + "/" + name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
        for info in extra or []:
            tar.addfile(info)
    return {"sha256": redist.sha256_file(path), "relative_path": os.path.basename(path)}


def cudart(tmp_path, version="12.8.90", payload=b"cudart"):
    path = os.path.join(str(tmp_path), "cuda_cudart-linux-x86_64-%s-archive.tar.xz" % version)
    entry = make_archive(path, "cuda_cudart-linux-x86_64-%s-archive" % version,
                         {"lib/libcudart.so.12": payload, "include/cuda_runtime.h": b"/* runtime */",
                          "LICENSE": b"licence"}, links={"lib/libcudart.so": "libcudart.so.12"})
    entry.update(name="cuda_cudart", title="CUDA Runtime (cudart)", version=version)
    return entry


def test_index_versions_reads_the_manifest_links_of_an_index_page():
    html = ('<a href="redistrib_12.8.1.json">x</a> <a href="redistrib_12.10.0.json">y</a>'
            '<a href="redistrib_12.8.1.json">dup</a> <a href="redistrib_9.13.0.json">z</a> <a href="cuda_cudart/">')
    assert redist.index_versions(html) == ["9.13.0", "12.8.1", "12.10.0"]


def test_resolve_takes_the_newest_patch_release_and_exact_releases():
    available = ["12.4.0", "12.4.1", "12.8.0", "12.8.1", "13.0.2"]
    assert redist.resolve("12.8", available) == "12.8.1"
    assert redist.resolve("12.4.0", available) == "12.4.0"
    with pytest.raises(redist.RedistError, match=r"CUDA 11\.8 is not offered here; available: 12\.4\.0, .*13\.0\.2"):
        redist.resolve("11.8", available)
    with pytest.raises(redist.RedistError, match="not X.Y or X.Y.Z"):
        redist.resolve("latest", available)


def test_components_from_nvidias_13_0_manifest():
    found = redist.components(manifest("cuda_redistrib_13.0.0.EXCERPT.json"), ["cuda_cudart", "cuda_nvcc"],
                              "linux-x86_64")
    assert found["cuda_cudart"]["version"] == "13.0.48"
    assert found["cuda_cudart"]["sha256"] == "30ffafae23833dafc965cf4e4d034f8553805586959328c64e2c47b3ef3bcd55"
    assert found["cuda_cudart"]["size"] == 1487372
    assert found["cuda_nvcc"]["relative_path"] == \
        "cuda_nvcc/linux-x86_64/cuda_nvcc-linux-x86_64-13.0.48-archive.tar.xz"


def test_a_component_the_manifest_lacks_fails_listing_the_others():
    message = r"CUDA 13\.0\.0 has no libcudnn for linux-x86_64; its components are: .*cuda_cudart"
    with pytest.raises(redist.RedistError, match=message):
        redist.components(manifest("cuda_redistrib_13.0.0.EXCERPT.json"), ["libcudnn"], "linux-x86_64")


def test_cudnn_archive_per_cuda_major_from_nvidias_manifest():
    found = redist.cudnn_archive(manifest("cudnn_redistrib_9.13.0.json"), "13", "linux-x86_64")
    assert found["variant"] == "cuda13"
    assert found["version"] == "9.13.0.50"
    assert found["sha256"] == "02f47d9456773c80d97ed245efd9eb22bb985dcfdb74559213536035291e7a01"
    message = r"cuDNN 9\.13\.0 has no build for CUDA 11 on linux-x86_64; it is built for CUDA 12, 13"
    with pytest.raises(redist.RedistError, match=message):
        redist.cudnn_archive(manifest("cudnn_redistrib_9.13.0.json"), "11", "linux-x86_64")


def test_request_keys_and_pick():
    archives = {"cuda_cudart": {"n": 1}, "cuda_nvcc": {"n": 2}}
    releases = {"12.8/linux-x86_64": {"label": "12.8.1", "archives": archives}}
    picked = redist.pick("cuda", [{"version": "12.8", "components": ["cuda_cudart"], "optional": [],
                                   "platform": "linux-x86_64"}], releases)
    assert picked[0]["label"] == "12.8.1"
    assert picked[0]["archives"] == {"cuda_cudart": {"n": 1}}
    assert picked[0]["last_use"] is True
    assert redist.request_key("cudnn", {"version": "9.13", "cuda_major": "12"}, "linux-sbsa") == \
        "9.13/cuda12/linux-sbsa"


def test_a_pick_is_the_last_use_of_its_archive_only_when_no_later_pick_takes_it():
    cudnn12 = {"cudnn": {"relative_path": "cudnn/linux-x86_64/cudnn-9.13-cuda12.tar.xz"}}
    cudnn13 = {"cudnn": {"relative_path": "cudnn/linux-x86_64/cudnn-9.13-cuda13.tar.xz"}}
    releases = {"9.13/cuda12/linux-x86_64": {"label": "9.13.0", "archives": cudnn12},
                "9.13/cuda13/linux-x86_64": {"label": "9.13.0", "archives": cudnn13}}
    requests = [{"version": "9.13", "cuda_major": major, "platform": "linux-x86_64"} for major in ("12", "13", "12")]
    picked = redist.pick("cudnn", requests, releases)
    assert [p["last_use"] for p in picked] == [False, True, True]


def test_install_builds_aside_and_renames_into_place(tmp_path):
    prefix = tmp_path / "usr-local"
    prefix.mkdir()
    archives = tmp_path / "archives"
    archives.mkdir()
    component = cudart(archives)
    target = redist.install_toolkit(str(prefix), "12.8.1", {"cuda_cudart": component}, "linux-x86_64",
                                    lambda c: str(archives / c["relative_path"]))
    assert target == str(prefix / "cuda-12.8")
    assert (prefix / "cuda-12.8" / "lib64" / "libcudart.so.12").read_bytes() == b"cudart"
    assert os.readlink(str(prefix / "cuda-12.8" / "lib64")) == "lib"
    assert os.readlink(str(prefix / "cuda-12.8" / "lib" / "libcudart.so")) == "libcudart.so.12"
    assert (prefix / "cuda-12.8" / "licenses" / "cuda_cudart" / "LICENSE").exists()
    record = redist.read_record(target)
    assert record["cuda"]["version"] == "12.8.1"
    assert record["cuda_cudart"]["version"] == "12.8.90"
    assert record["dlops_gpu"]["components"] == ["cuda_cudart"]
    assert sorted(os.listdir(str(prefix))) == ["cuda-12.8"]
    assert redist.toolkit_differences(record, "12.8.1", {"cuda_cudart": component}) == []
    assert redist.toolkit_differences(record, "12.8.2", {"cuda_cudart": component}) == ["version 12.8.1 -> 12.8.2"]


def test_a_corrupted_archive_fails_before_anything_is_unpacked(tmp_path):
    prefix = tmp_path / "usr-local"
    prefix.mkdir()
    component = cudart(tmp_path)
    path = tmp_path / component["relative_path"]
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(redist.RedistError, match="is corrupt: sha256"):
        redist.install_toolkit(str(prefix), "12.8.1", {"cuda_cudart": component}, "linux-x86_64",
                               lambda c: str(tmp_path / c["relative_path"]))
    assert os.listdir(str(prefix)) == []


def test_a_rerun_after_an_interruption_finishes_the_job(tmp_path):
    prefix = tmp_path / "usr-local"
    (prefix / ".dlops-staging-cuda-12.8" / "lib").mkdir(parents=True)  # left by a killed run
    component = cudart(tmp_path)
    redist.install_toolkit(str(prefix), "12.8.1", {"cuda_cudart": component}, "linux-x86_64",
                           lambda c: str(tmp_path / c["relative_path"]))
    assert sorted(os.listdir(str(prefix))) == ["cuda-12.8"]


def test_an_upgrade_replaces_the_whole_toolkit(tmp_path):
    prefix = tmp_path / "usr-local"
    prefix.mkdir()
    (tmp_path / "old").mkdir()
    old = cudart(tmp_path / "old", "12.8.57", b"old")
    new = cudart(tmp_path, "12.8.90", b"new")
    redist.install_toolkit(str(prefix), "12.8.0", {"cuda_cudart": old}, "linux-x86_64",
                           lambda c: str(tmp_path / "old" / c["relative_path"]))
    (prefix / "cuda-12.8" / "stray").write_text("from the old toolkit")
    redist.install_toolkit(str(prefix), "12.8.1", {"cuda_cudart": new}, "linux-x86_64",
                           lambda c: str(tmp_path / c["relative_path"]))
    assert (prefix / "cuda-12.8" / "lib" / "libcudart.so.12").read_bytes() == b"new"
    assert not (prefix / "cuda-12.8" / "stray").exists()
    assert sorted(os.listdir(str(prefix))) == ["cuda-12.8"]


@pytest.mark.parametrize("name, linkname, message", [
    ("top/../../etc/passwd", None, "its name .* climbs out with '..'"),
    ("/etc/passwd", None, "its name .* is absolute"),
    ("top/lib/libevil.so", "/etc/shadow", "link to the absolute path '/etc/shadow'"),
    ("top/lib/libevil.so", "../../../etc/shadow", "leads to .*, outside the folder it unpacks into"),
])
def test_archives_cannot_write_outside_the_toolkit(tmp_path, name, linkname, message):
    info = tarfile.TarInfo(name)
    if linkname:
        info.type = tarfile.SYMTYPE
        info.linkname = linkname
    path = str(tmp_path / "evil.tar.xz")
    make_archive(path, "top", {"lib/ok.so.1": b"x"}, extra=[info])
    with pytest.raises(redist.RedistError, match=message):
        redist.unpack(path, str(tmp_path / "dest"))


def test_cudnn_goes_into_the_toolkit_and_replaces_the_old_release(tmp_path):
    toolkit = tmp_path / "cuda-12.8"
    (toolkit / "lib").mkdir(parents=True)
    os.symlink("lib", str(toolkit / "lib64"))
    redist.write_record(str(toolkit), {"cuda": {"version": "12.8.1"}})

    def cudnn(version, libs):
        path = str(tmp_path / ("cudnn-%s.tar.xz" % version))
        files = dict(("lib/%s" % lib, version.encode()) for lib in libs)
        files["include/cudnn_version.h"] = ("#define CUDNN_MAJOR 9 /* %s */" % version).encode()
        entry = make_archive(path, "cudnn-linux-x86_64-%s_cuda12-archive" % version, files)
        entry.update(version=version, variant="cuda12", title="cuDNN")
        return entry, path

    old, old_path = cudnn("9.10.0.56", ["libcudnn.so.9", "libcudnn_old_engine.so.9"])
    redist.install_cudnn(str(toolkit), old, old_path)
    new, new_path = cudnn("9.13.0.50", ["libcudnn.so.9", "libcudnn_graph.so.9"])
    assert redist.cudnn_differences(redist.read_record(str(toolkit)), new) == [
        "cuDNN 9.10.0.56 -> 9.13.0.50 (cuda12)"]
    redist.install_cudnn(str(toolkit), new, new_path)
    assert sorted(os.listdir(str(toolkit / "lib"))) == ["libcudnn.so.9", "libcudnn_graph.so.9"]
    assert (toolkit / "lib" / "libcudnn.so.9").read_bytes() == b"9.13.0.50"
    record = redist.read_record(str(toolkit))
    assert record["cudnn"] == {"name": "cuDNN", "version": "9.13.0.50", "variant": "cuda12"}
    assert record["cuda"]["version"] == "12.8.1"
    assert redist.cudnn_differences(record, new) == []
    assert not (toolkit / ".dlops-staging-cudnn").exists()
    redist.remove_cudnn(str(toolkit))
    assert redist.cudnn_files(str(toolkit)) == []
    assert "cudnn" not in redist.read_record(str(toolkit))


def test_remove_toolkit(tmp_path):
    (tmp_path / "cuda-12.4" / "lib").mkdir(parents=True)
    redist.remove_toolkit(str(tmp_path), "12.4")
    assert os.listdir(str(tmp_path)) == []
