"""Manifests from a mirror: bad paths, versions, sizes and sha256 are refused before anything is downloaded or written.

The pure checks in module_utils/redist.py, then redist_fetch (URL opener mocked), cuda_toolkit and cuda_cudnn run
in-process on crafted input: each refusal is a fail_json message, never a traceback, and the cache or the
prefix stays as it was.
"""

import copy
import io
import json
import os
import re

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.dlops.gpu.plugins.module_utils import redist
from ansible_collections.dlops.gpu.plugins.modules import cuda_cudnn
from ansible_collections.dlops.gpu.plugins.modules import cuda_toolkit
from ansible_collections.dlops.gpu.plugins.modules import redist_fetch
from ...conftest import FIXTURES

REFERENCE = os.path.join(FIXTURES, "reference")
BASE = "https://mirror.example/compute/cuda/redist"
CUDNN_BASE = "https://mirror.example/compute/cudnn/redist"


def reference(name):
    with open(os.path.join(REFERENCE, name), "rb") as handle:
        return handle.read()


CUDA = json.loads(reference("cuda_redistrib_13.0.0.EXCERPT.json"))
CUDNN = json.loads(reference("cudnn_redistrib_9.13.0.json"))


class Exit(Exception):
    def __init__(self, failed, result):
        Exception.__init__(self, result.get("msg"))
        self.failed = failed
        self.result = result


def run(module, args, monkeypatch, pages=None):
    """module.main() with args; (failed, result, URLs opened). pages: {url: bytes} served by the mocked opener."""
    opened = []

    def open_url(url, **_kwargs):
        opened.append(url)
        if url not in (pages or {}):
            raise IOError("HTTP Error 404: Not Found")
        return io.BytesIO(pages[url])

    def exit_json(self, **result):
        raise Exit(False, result)

    def fail_json(self, **result):
        raise Exit(True, result)

    if hasattr(module, "open_url"):
        monkeypatch.setattr(module, "open_url", open_url)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with patch_module_args(args):
        with pytest.raises(Exit) as done:
            module.main()
    return done.value.failed, done.value.result, opened


def listing(root):
    return sorted(os.path.relpath(os.path.join(folder, e), root) for folder, dirs, files in os.walk(root)
                  for e in dirs + files)


# The checks themselves -------------------------------------------------------

@pytest.mark.parametrize("value", ["/etc/passwd", "../x.tar.xz", "cuda_cudart/../../x.tar.xz", "a//b.tar.xz",
                                   "./a.tar.xz", "a/.hidden", "a\\..\\b", "a b.tar.xz", "a/\x00b", "", None, 7,
                                   "caf\u00e9/x.tar.xz", "a/" + "b" * 300, "a.tar.xz\n"])
def test_relative_paths_that_are_not_plain_are_refused(value):
    with pytest.raises(redist.RedistError, match="relative_path"):
        redist.check_relative_path(value, "here")


def test_nvidias_relative_paths_pass():
    for entry in (CUDA["cuda_cudart"], CUDA["cuda_nvcc"]):
        for platform in ("linux-x86_64", "linux-sbsa", "windows-x86_64"):
            redist.check_relative_path(entry[platform]["relative_path"], "here")
    for platform in ("linux-x86_64", "linux-sbsa", "linux-aarch64", "windows-x86_64"):
        for variant in ("cuda12", "cuda13"):
            redist.check_relative_path(CUDNN["cudnn"][platform][variant]["relative_path"], "here")


@pytest.mark.parametrize("value", ["12.8.1-rc1", "latest", "", "1..2", ".1", "1.", "../1", "9.13.0.50 ", None, 13,
                                   "1.2.3.4.5.6.7", "\u0661\u0662.0", "13.0.48\n"])
def test_versions_that_are_not_digits_and_dots_are_refused(value):
    with pytest.raises(redist.RedistError, match="is not digits and dots"):
        redist.check_version(value, "here")


@pytest.mark.parametrize("value", ["13.0.48", "9.13.0.50", "580.65.06", "0.22.65.06", "13"])
def test_nvidias_versions_pass(value):
    assert redist.check_version(value, "here") == value


@pytest.mark.parametrize("value", ["-1", -1, "1.5", 1.5, "1e6", "", None, True, "0x10", " 12", "\u0661", "12\n"])
def test_sizes_that_are_not_whole_numbers_are_refused(value):
    with pytest.raises(redist.RedistError, match="size .* is not a non-negative whole number"):
        redist.check_size(value, "here")


@pytest.mark.parametrize("value", ["0" * 63, "0" * 65, "A" * 64, "g" * 64, "0" * 64 + "\n", None, 0])
def test_sha256_that_is_not_64_lower_hex_is_refused(value):
    with pytest.raises(redist.RedistError, match="sha256 .* is not 64 lower-case hex digits"):
        redist.check_sha256(value, "here")


def test_the_reference_manifests_read_as_before():
    found = redist.components(CUDA, ["cuda_cudart"], "linux-x86_64")["cuda_cudart"]
    assert found["size"] == 1487372 and found["version"] == "13.0.48"
    assert redist.cudnn_archive(CUDNN, "12", "linux-sbsa")["size"] == 873177712


BAD_FIELDS = [
    ("relative_path", "../../../../etc/cron.d/x", "relative_path"),
    ("relative_path", "/etc/cron.d/x", "relative_path"),
    ("sha256", "30FFAFAE23833DAFC965CF4E4D034F8553805586959328C64E2C47B3EF3BCD55", "sha256"),
    ("size", "-5", "size"),
    ("size", "12.5", "size"),
    (None, "13.0.48; rm -rf /", "version"),
]


@pytest.mark.parametrize("field, value, word", BAD_FIELDS)
def test_a_bad_cuda_manifest_entry_is_refused(field, value, word):
    manifest = copy.deepcopy(CUDA)
    if field is None:
        manifest["cuda_cudart"]["version"] = value
    else:
        manifest["cuda_cudart"]["linux-x86_64"][field] = value
    with pytest.raises(redist.RedistError, match=r"redistrib_13.0.0.json: cuda_cudart \(linux-x86_64\): %s" % word):
        redist.components(manifest, ["cuda_cudart"], "linux-x86_64", "redistrib_13.0.0.json")


@pytest.mark.parametrize("field, value, word", BAD_FIELDS)
def test_a_bad_cudnn_manifest_entry_is_refused(field, value, word):
    manifest = copy.deepcopy(CUDNN)
    if field is None:
        manifest["cudnn"]["version"] = value
    else:
        manifest["cudnn"]["linux-x86_64"]["cuda12"][field] = value
    with pytest.raises(redist.RedistError, match=r"cuDNN 9.13.0 manifest: cudnn cuda12 \(linux-x86_64\): %s" % word):
        redist.cudnn_archive(manifest, "12", "linux-x86_64")


@pytest.mark.parametrize("data, why", [
    (b"\xff\xfe{}", r"is not UTF-8 \(byte 0\)"),
    (b'{"release_label": "13.0.0",', "is not valid JSON"),
    (b"[1, 2]", "holds a JSON list"),
    (b'{"release_label": "../13"}', "release_label: version '../13' is not digits and dots"),
])
def test_a_manifest_that_is_not_utf8_json_is_refused(data, why):
    with pytest.raises(redist.RedistError, match="https://m/redistrib_13.0.0.json.*" + why):
        redist.parse_manifest(data, "https://m/redistrib_13.0.0.json")


def test_a_path_that_leaves_its_folder_through_a_link_is_refused(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(str(tmp_path / "elsewhere"), str(tmp_path / "cache" / "cuda_cudart"))
    with pytest.raises(redist.RedistError, match="leads to .*elsewhere/x.tar.xz, outside"):
        redist.inside(str(tmp_path / "cache"), "cuda_cudart/x.tar.xz", "here")
    assert redist.inside(str(tmp_path / "cache"), "cuda_nvcc/x.tar.xz", "here") == \
        str(tmp_path / "cache" / "cuda_nvcc" / "x.tar.xz")


# redist_fetch on the controller ---------------------------------------------

def cuda_pages(manifest):
    return {BASE + "/": b'<a href="redistrib_13.0.0.json">redistrib_13.0.0.json</a>',
            BASE + "/redistrib_13.0.0.json": manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()}


def fetch_args(tmp_path, **extra):
    args = dict(product="cuda", base_url=BASE, requests=[{"version": "13.0"}], components=["cuda_cudart"],
                cache_dir=str(tmp_path / "cache"))
    args.update(extra)
    return args


@pytest.mark.parametrize("field, value, word", BAD_FIELDS)
def test_redist_fetch_refuses_a_bad_manifest_before_any_download(tmp_path, monkeypatch, field, value, word):
    (tmp_path / "cache").mkdir()
    manifest = copy.deepcopy(CUDA)
    if field is None:
        manifest["cuda_cudart"]["version"] = value
    else:
        manifest["cuda_cudart"]["linux-x86_64"][field] = value
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, cuda_pages(manifest))
    assert failed
    assert "%s/redistrib_13.0.0.json: cuda_cudart (linux-x86_64): %s" % (BASE, word) in result["msg"]
    assert result["msg"].endswith("nothing was downloaded")
    assert opened == [BASE + "/", BASE + "/redistrib_13.0.0.json"]
    assert listing(str(tmp_path)) == ["cache"]


@pytest.mark.parametrize("data, why", [(b"\x89PNG\xff", "is not UTF-8"), (b"<html>oops</html>", "is not valid JSON")])
def test_redist_fetch_names_a_manifest_that_is_not_json(tmp_path, monkeypatch, data, why):
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, cuda_pages(data))
    assert failed and result["msg"].startswith("%s/redistrib_13.0.0.json %s" % (BASE, why)), result["msg"]
    assert not (tmp_path / "cache").exists()


def test_redist_fetch_refuses_a_cache_folder_that_links_out(tmp_path, monkeypatch):
    (tmp_path / "cache" / "cuda").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    os.symlink(str(tmp_path / "elsewhere"), str(tmp_path / "cache" / "cuda" / "cuda_cudart"))
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, cuda_pages(CUDA))
    assert failed and "leads to %s" % (tmp_path / "elsewhere") in result["msg"], result["msg"]
    assert len(opened) == 2
    assert os.listdir(str(tmp_path / "elsewhere")) == []


def test_redist_fetch_ignores_index_labels_that_are_not_versions(tmp_path, monkeypatch):
    pages = cuda_pages(CUDA)
    pages[BASE + "/"] = b'<a href="redistrib_../../x.json">x</a> <a href="redistrib_13.0.0.json">y</a>'
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path, requests=[{"version": "13.1"}]), monkeypatch,
                                 pages)
    assert failed and result["available"] == ["13.0.0"]
    assert "CUDA 13.1 is not offered here; available: 13.0.0" in result["msg"]


def test_redist_fetch_downloads_a_good_archive_and_refuses_a_longer_one(tmp_path, monkeypatch):
    payload = b"archive bytes"
    manifest = copy.deepcopy(CUDA)
    entry = manifest["cuda_cudart"]["linux-x86_64"]
    entry.update(sha256=__import__("hashlib").sha256(payload).hexdigest(), size=str(len(payload)))
    pages = cuda_pages(manifest)
    url = BASE + "/" + entry["relative_path"]
    pages[url] = payload + b"and more"
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, pages)
    assert failed and "is corrupt: more than %d bytes" % len(payload) in result["msg"], result["msg"]
    assert listing(str(tmp_path / "cache")) == ["cuda", "cuda/cuda_cudart", "cuda/cuda_cudart/linux-x86_64"]
    pages[url] = payload
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, pages)
    assert not failed and result["downloaded"] == [entry["relative_path"]]
    path = result["releases"]["13.0/linux-x86_64"]["archives"]["cuda_cudart"]["path"]
    with open(path, "rb") as handle:
        assert handle.read() == payload


# cuda_toolkit and cuda_cudnn on the hosts --------------------------------------

def component(**change):
    found = {"name": "cuda_cudart", "version": "13.0.48", "sha256": "0" * 64,
             "relative_path": "cuda_cudart/linux-x86_64/cuda_cudart-linux-x86_64-13.0.48-archive.tar.xz"}
    found.update(change)
    return found


@pytest.mark.parametrize("components, why", [
    ({"cuda_cudart": component(relative_path="../../../etc/x.tar.xz")}, "relative_path"),
    ({"cuda_cudart": component(relative_path="/etc/x.tar.xz")}, "relative_path"),
    ({"cuda_cudart": component(sha256="x" * 64)}, "sha256"),
    ({"cuda_cudart": component(size=-1)}, "size"),
    ({"cuda_cudart": component(version="13.0.48/../../x")}, "version"),
    ({"../../etc": component()}, "component name"),
    ({"cuda_cudart": "not a mapping"}, "is not a mapping"),
])
def test_cuda_toolkit_refuses_bad_archives_from_the_controller(tmp_path, monkeypatch, components, why):
    (tmp_path / "prefix").mkdir()
    (tmp_path / "archives").mkdir()
    args = dict(version="13.0.0", components=components, archive_dir=str(tmp_path / "archives"),
                prefix=str(tmp_path / "prefix"))
    failed, result, _opened = run(cuda_toolkit, args, monkeypatch)
    assert failed and why in result["msg"] and result["msg"].endswith("nothing was changed"), result["msg"]
    assert listing(str(tmp_path)) == ["archives", "prefix"]


def test_cuda_toolkit_refuses_an_archive_path_that_links_out(tmp_path, monkeypatch):
    (tmp_path / "prefix").mkdir()
    (tmp_path / "archives").mkdir()
    os.symlink(str(tmp_path / "prefix"), str(tmp_path / "archives" / "cuda_cudart"))
    args = dict(version="13.0.0", components={"cuda_cudart": component()}, archive_dir=str(tmp_path / "archives"),
                prefix=str(tmp_path / "prefix"))
    failed, result, _opened = run(cuda_toolkit, args, monkeypatch)
    assert failed and "outside %s" % (tmp_path / "archives") in result["msg"], result["msg"]
    assert os.listdir(str(tmp_path / "prefix")) == []


def test_cuda_toolkit_says_a_damaged_archive_is_corrupt(tmp_path, monkeypatch):
    (tmp_path / "prefix").mkdir()
    folder = tmp_path / "archives" / "cuda_cudart" / "linux-x86_64"
    folder.mkdir(parents=True)
    (folder / "cuda_cudart-linux-x86_64-13.0.48-archive.tar.xz").write_bytes(b"\xfd7zXZ\x00 garbage")
    args = dict(version="13.0.0", components={"cuda_cudart": component()}, archive_dir=str(tmp_path / "archives"),
                prefix=str(tmp_path / "prefix"))
    failed, result, _opened = run(cuda_toolkit, args, monkeypatch)
    assert failed and "is corrupt: sha256" in result["msg"], result["msg"]
    assert os.listdir(str(tmp_path / "prefix")) == []


@pytest.mark.parametrize("change, why", [
    ({"relative_path": "../../x.tar.xz"}, "relative_path"),
    ({"sha256": "A" * 64}, "sha256"),
    ({"variant": "cuda12/../.."}, "variant"),
    ({"variant": "cuda12\n"}, "variant"),
    ({"version": None}, "version"),
])
def test_cuda_cudnn_refuses_bad_archives_from_the_controller(tmp_path, monkeypatch, change, why):
    toolkit = tmp_path / "cuda-12.8"
    (toolkit / "lib").mkdir(parents=True)
    (tmp_path / "archives").mkdir()
    cudnn = {"name": "cudnn", "version": "9.13.0.50", "variant": "cuda12", "sha256": "0" * 64,
             "relative_path": "cudnn/linux-x86_64/cudnn-linux-x86_64-9.13.0.50_cuda12-archive.tar.xz"}
    cudnn.update(change)
    failed, result, _opened = run(cuda_cudnn, dict(toolkit=str(toolkit), cudnn=cudnn,
                                                   archive_dir=str(tmp_path / "archives")), monkeypatch)
    assert failed and why in result["msg"] and result["msg"].endswith("nothing was changed"), result["msg"]
    assert listing(str(tmp_path)) == ["archives", "cuda-12.8", "cuda-12.8/lib"]


def test_cuda_toolkit_refuses_a_hostile_archive_naming_archive_and_member(tmp_path, monkeypatch):
    import tarfile
    (tmp_path / "prefix").mkdir()
    (tmp_path / "outside").mkdir()
    folder = tmp_path / "archives" / "cuda_cudart" / "linux-x86_64"
    folder.mkdir(parents=True)
    path = str(folder / "cuda_cudart-linux-x86_64-13.0.48-archive.tar.xz")
    with tarfile.open(path, "w:xz") as tar:
        for name, kind, link in (("top", tarfile.DIRTYPE, ""), ("top/lib", tarfile.SYMTYPE, "../../outside")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info)
    args = dict(version="13.0.0", components={"cuda_cudart": component(sha256=redist.sha256_file(path))},
                archive_dir=str(tmp_path / "archives"), prefix=str(tmp_path / "prefix"))
    failed, result, _opened = run(cuda_toolkit, args, monkeypatch)
    assert failed, result
    assert result["msg"].startswith("CUDA 13.0.0 was not installed: archive %s, member 'top/lib': it is a link to "
                                    "'../../outside'" % path), result["msg"]
    assert result["msg"].endswith("%s is as it was" % (tmp_path / "prefix" / "cuda-13.0"))
    assert os.listdir(str(tmp_path / "prefix")) == [] and os.listdir(str(tmp_path / "outside")) == []


# Review findings: malformed entries, variants given as a string, versions with empty parts --------------------

@pytest.mark.parametrize("archive", [{"sha256": "0" * 64, "size": "1"}, [], "cuda_cudart.tar.xz", None])
def test_a_component_entry_without_an_archive_is_malformed_not_missing(archive):
    manifest = copy.deepcopy(CUDA)
    manifest["cuda_cudart"]["linux-x86_64"] = archive
    with pytest.raises(redist.RedistError) as raised:
        redist.components(manifest, ["cuda_cudart"], "linux-x86_64", "redistrib_13.0.0.json")
    message = str(raised.value)
    assert message.startswith("redistrib_13.0.0.json: the entry of cuda_cudart for linux-x86_64 is malformed: "), \
        message
    assert "has no" not in message and "its components are" not in message


def test_redist_fetch_names_a_malformed_entry_and_downloads_nothing(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir()
    manifest = copy.deepcopy(CUDA)
    del manifest["cuda_cudart"]["linux-x86_64"]["relative_path"]
    failed, result, opened = run(redist_fetch, fetch_args(tmp_path), monkeypatch, cuda_pages(manifest))
    assert failed
    assert result["msg"].startswith("%s/redistrib_13.0.0.json: the entry of cuda_cudart for linux-x86_64 is "
                                    "malformed" % BASE), result["msg"]
    assert result["msg"].endswith("nothing was downloaded")
    assert listing(str(tmp_path)) == ["cache"]


def test_a_component_absent_from_a_manifest_without_any_says_none():
    with pytest.raises(redist.RedistError, match=r"CUDA 1\.2 has no cuda_cudart for linux-x86_64; its components "
                                                 r"are: none\Z"):
        redist.components({"release_label": "1.2", "cuda_cudart": None}, ["cuda_cudart"], "linux-x86_64")


@pytest.mark.parametrize("variants, major, why", [
    ("13", "12", r"has no build for CUDA 12 on linux-x86_64; it is built for CUDA 13\Z"),
    ("12", "12", r"names a build for CUDA 12 but holds no archive for it on linux-x86_64: the manifest is incomplete"),
    (["11", "13"], "12", r"it is built for CUDA 11, 13\Z"),
])
def test_cuda_variant_as_a_string_or_a_list_is_named(variants, major, why):
    manifest = {"release_label": "9.13.0", "cudnn": {"version": "9.13.0.50", "cuda_variant": variants,
                                                     "linux-x86_64": {}}}
    with pytest.raises(redist.RedistError, match=r"^cuDNN 9\.13\.0 .*" + why) as raised:
        redist.cudnn_archive(manifest, major, "linux-x86_64")
    assert "nothing" not in str(raised.value)


@pytest.mark.parametrize("value", ["12..8", ".12.8", "12.8.", "012.8", "12.08", "12", "12.8.1.0.0", "1e2.8", ""])
def test_resolve_refuses_requests_with_empty_parts_or_leading_zeros(value):
    with pytest.raises(redist.RedistError, match=r"CUDA version '%s' is not X\.Y or X\.Y\.Z" % re.escape(value)):
        redist.resolve(value, ["12.8.0", "12.8.1"])


@pytest.mark.parametrize("value", ["12.8", " 12.8 ", "12.8.1", "9.13.0.50"])
def test_resolve_takes_plain_requests(value):
    assert redist.resolve(value, ["12.8.0", "12.8.1", "9.13.0.50"]) in ("12.8.1", "9.13.0.50")


@pytest.mark.parametrize("value", ["012.8", "12.08", "00.1", "01"])
def test_versions_with_a_leading_zero_in_major_or_minor_are_refused(value):
    with pytest.raises(redist.RedistError, match="no leading zero in the major or minor"):
        redist.check_version(value, "here")
