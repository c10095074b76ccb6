"""The cuda role's package method: NVIDIA-style packages (stand-ins here), the default pinned through alternatives."""

import json


def runtime(host, lib):
    return int(host.check_output(
        "python3 -c \"import ctypes; v = ctypes.c_int(); "
        "ctypes.CDLL('%s').cudaRuntimeGetVersion(ctypes.byref(v)); print(v.value)\"" % lib))


def test_toolkit_packages_installed(host):
    for name, version in (("cuda-toolkit-12-8", "12.8.1-1"), ("cuda-toolkit-13-0", "13.0.2-1")):
        assert host.package(name).is_installed
        assert host.package(name).version == version


def test_alternatives_point_at_the_default_in_manual_mode(host):
    assert host.check_output("readlink /usr/local/cuda") == "/etc/alternatives/cuda"
    display = host.check_output("update-alternatives --display cuda")
    assert "manual mode" in display
    assert "link currently points to /usr/local/cuda-12.8" in display
    assert runtime(host, "/usr/local/cuda/lib64/libcudart.so") == 12080


def test_both_toolkits_run(host):
    assert runtime(host, "/usr/local/cuda-12.8/lib64/libcudart.so") == 12080
    assert runtime(host, "/usr/local/cuda-13.0/lib64/libcudart.so") == 13000


def test_gpu_facts_see_packaged_toolkits(host):
    facts = host.ansible("dlops.gpu.gpu_facts", check=False)["ansible_facts"]["gpu"]
    toolkits = {t["series"]: t for t in facts["toolkits"]}
    assert sorted(toolkits) == ["12.8", "13.0"]
    assert toolkits["12.8"]["version"] == "12.8.1" and toolkits["12.8"]["managed"] is False
    assert json.dumps(facts["cuda_default"]["alternatives"]) == "true"
    assert facts["cuda_default"]["series"] == "12.8"


def test_sources_signed_by_the_checked_key(host):
    text = host.file("/etc/apt/sources.list.d/dlops-nvidia-cuda.sources").content_string
    assert "Signed-By: /etc/apt/keyrings/dlops-nvidia-cuda.gpg" in text
    expected = host.file("/srv/cuda-test-repo/fingerprint").content_string.strip()
    assert "fpr:::::::::%s:" % expected in host.check_output(
        "gpg --show-keys --with-colons /etc/apt/keyrings/dlops-nvidia-cuda.gpg")
