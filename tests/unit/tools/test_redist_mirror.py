"""tools/redist_mirror.py on small wheels made by the test (laid out like NVIDIA's, holding no NVIDIA code)."""

import importlib.util
import json
import os
import tarfile
import zipfile

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import redist

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
SPEC = importlib.util.spec_from_file_location("redist_mirror", os.path.join(ROOT, "tools", "redist_mirror.py"))
mirror = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(mirror)


def fake_wheel(directory, name, version, files):
    path = os.path.join(directory, "%s-%s-py3-none-manylinux2014_x86_64.whl" % (name.replace("-", "_"), version))
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
        wheel.writestr("%s-%s.dist-info/licenses/License.txt" % (name.replace("-", "_"), version), "licence")
    return path


def build(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheel(str(wheels), "test-cuda-runtime", "12.8.90", {
        "nvidia/cuda_runtime/__init__.py": "",
        "nvidia/cuda_runtime/lib/libcudart.so.12": "runtime",
        "nvidia/cuda_runtime/include/cuda_runtime.h": "/* header */"})
    fake_wheel(str(wheels), "test-cudnn", "9.13.0.50", {
        "nvidia/cudnn/lib/libcudnn.so.9": "cudnn",
        "nvidia/cudnn/include/cudnn_version.h": "#define CUDNN_MAJOR 9"})
    table = {
        "cuda": {"12.8.1": {"release_date": "2025-03-05", "components": {"cuda_cudart": {
            "name": "CUDA Runtime (cudart)", "license": "CUDA Toolkit", "version": "12.8.90",
            "wheel": "test-cuda-runtime==12.8.90", "root": "nvidia/cuda_runtime"}}}},
        "cudnn": {"9.13.0": {"release_date": "2025-09-04", "version": "9.13.0.50", "variants": {
            "12": {"wheel": "test-cudnn==9.13.0.50", "root": "nvidia/cudnn"}}}},
    }
    (tmp_path / "map.json").write_text(json.dumps(table))
    out = tmp_path / "mirror"
    assert mirror.main(["--out", str(out), "--wheels", str(wheels), "--map", str(tmp_path / "map.json")]) == 0
    return out


def test_the_mirror_has_nvidias_layout_and_real_checksums(tmp_path):
    out = build(tmp_path)
    base = out / "cuda" / "redist"
    assert redist.index_versions((base / "index.html").read_text()) == ["12.8.1"]
    manifest = json.loads((base / "redistrib_12.8.1.json").read_text())
    archive = redist.components(manifest, ["cuda_cudart"], "linux-x86_64")["cuda_cudart"]
    assert archive["relative_path"] == "cuda_cudart/linux-x86_64/cuda_cudart-linux-x86_64-12.8.90-archive.tar.xz"
    assert redist.sha256_file(str(base / archive["relative_path"])) == archive["sha256"]
    with tarfile.open(str(base / archive["relative_path"])) as tar:
        names = dict((m.name, m) for m in tar.getmembers())
    top = "cuda_cudart-linux-x86_64-12.8.90-archive"
    assert names[top + "/lib/libcudart.so.12"].isfile()
    assert names[top + "/lib/libcudart.so"].linkname == "libcudart.so.12"
    assert top + "/LICENSE" in names
    assert not any(n.endswith("__init__.py") for n in names)

    cudnn = json.loads((out / "cudnn" / "redist" / "redistrib_9.13.0.json").read_text())
    entry = redist.cudnn_archive(cudnn, "12", "linux-x86_64")
    assert entry["version"] == "9.13.0.50"
    assert cudnn["cudnn"]["cuda_variant"] == ["12"]


def test_a_rebuilt_mirror_has_the_same_checksums(tmp_path):
    first = json.loads((build(tmp_path / "a") / "cuda" / "redist" / "redistrib_12.8.1.json").read_text())
    second = json.loads((build(tmp_path / "b") / "cuda" / "redist" / "redistrib_12.8.1.json").read_text())
    assert first["cuda_cudart"]["linux-x86_64"]["sha256"] == second["cuda_cudart"]["linux-x86_64"]["sha256"]


def good_table():
    return {
        "cuda": {"12.8.1": {"release_date": "2025-03-05", "components": {"cuda_cudart": {
            "name": "CUDA Runtime (cudart)", "license": "CUDA Toolkit", "version": "12.8.90",
            "wheel": "test-cuda-runtime==12.8.90", "root": "nvidia/cuda_runtime"}}}},
        "cudnn": {"9.13.0": {"release_date": "2025-09-04", "version": "9.13.0.50", "variants": {
            "12": {"wheel": "test-cudnn==9.13.0.50", "root": "nvidia/cudnn"}}}},
    }


@pytest.mark.parametrize("change, what", [
    (lambda t: t["cuda"].update({"../../12.8.1": t["cuda"].pop("12.8.1")}), "release label '../../12.8.1'"),
    (lambda t: t["cuda"]["12.8.1"]["components"].update({"../x": {}}), "component name '../x'"),
    (lambda t: t["cuda"]["12.8.1"]["components"]["cuda_cudart"].update(version="12.8.90/../../x"), "version"),
    (lambda t: t["cuda"]["12.8.1"]["components"]["cuda_cudart"].update(wheel="--index-url=http://evil x"), "wheel"),
    (lambda t: t["cuda"]["12.8.1"]["components"]["cuda_cudart"].update(root="../nvidia"), "root"),
    (lambda t: t["cudnn"]["9.13.0"].update(version="9.13.0.50\n"), "version"),
    (lambda t: t["cudnn"]["9.13.0"]["variants"].update({"12/..": {}}), "CUDA major"),
])
def test_a_map_that_would_steer_paths_or_pip_is_refused_before_anything_is_built(tmp_path, change, what):
    table = good_table()
    change(table)
    (tmp_path / "map.json").write_text(json.dumps(table))
    with pytest.raises(SystemExit) as raised:
        mirror.main(["--out", str(tmp_path / "mirror"), "--wheels", str(tmp_path), "--map", str(tmp_path / "map.json")])
    assert what in str(raised.value) and "nothing was built" in str(raised.value), raised.value
    assert not (tmp_path / "mirror").exists()


def test_a_map_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "map.json").write_bytes(b"\xff{")
    with pytest.raises(SystemExit, match="map.json cannot be read as UTF-8 JSON"):
        mirror.main(["--out", str(tmp_path / "mirror"), "--map", str(tmp_path / "map.json")])


@pytest.mark.parametrize("member", ["nvidia/cuda_runtime/../../../etc/cron.d/x", "/etc/cron.d/x",
                                    "nvidia\\..\\..\\x"])
def test_a_wheel_member_that_climbs_out_is_refused(tmp_path, member):
    wheel = fake_wheel(str(tmp_path), "test-cuda-runtime", "12.8.90", {
        "nvidia/cuda_runtime/lib/libcudart.so.12": "runtime", member: "evil"})
    with pytest.raises(SystemExit, match="member .* is not a plain relative path"):
        mirror.archive_members(wheel, "nvidia/cuda_runtime")


def test_a_damaged_wheel_is_refused_naming_it(tmp_path):
    wheel = tmp_path / "test_cuda_runtime-12.8.90-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SystemExit, match="test_cuda_runtime-12.8.90-py3-none-any.whl is not a wheel"):
        mirror.archive_members(str(wheel), "nvidia/cuda_runtime")


def test_the_shipped_map_passes_its_own_checks():
    with open(os.path.join(ROOT, "tools", "redist_mirror.json")) as handle:
        table = json.load(handle)
    assert mirror.check_table(table, "tools/redist_mirror.json") is table
