"""The driver's userspace as an image build leaves it: pinned to the branch, held, from a trusted source."""

import json

import pytest

BRANCH = {"debian12": "535", "debian13": "550"}
PACKAGES = ["nvidia-smi", "libcuda1", "libnvidia-ml1"]
CUDA_API = {"535": 12020, "550": 12040}


def branch(host):
    return BRANCH[host.backend.get_hostname()]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_installed_from_the_branch(host, package):
    pkg = host.package(package)
    assert pkg.is_installed
    assert pkg.version.split(":")[-1].startswith(branch(host) + ".")


def test_packages_are_held(host):
    held = host.check_output("apt-mark showhold").split()
    assert sorted(p for p in held if p in PACKAGES) == sorted(PACKAGES)


def test_full_upgrade_leaves_the_driver_alone(host):
    out = host.check_output("apt-get -s full-upgrade")
    assert not [line for line in out.splitlines() if line.startswith(("Inst nvidia", "Inst libcuda", "Remv nvidia"))]


def test_preferences_pin_the_branch(host):
    text = host.file("/etc/apt/preferences.d/dlops-nvidia-driver").content_string
    assert "Pin: version %s.*" % branch(host) in text
    assert "Pin-Priority: 1001" in text
    policy = host.check_output("apt-cache policy libcuda1")
    assert " 1001\n" in policy or "1001" in policy.split("Version table:")[1].splitlines()[1]


def test_nouveau_blacklisted(host):
    text = host.file("/etc/modprobe.d/dlops-blacklist-nouveau.conf").content_string
    assert "blacklist nouveau" in text and "options nouveau modeset=0" in text


def test_sources(host):
    name = host.backend.get_hostname()
    if name == "debian12":
        text = host.file("/etc/apt/sources.list.d/dlops-debian-nonfree.sources").content_string
        assert "Components: contrib non-free non-free-firmware" in text
        assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in text
    else:
        text = host.file("/etc/apt/sources.list.d/dlops-nvidia-cuda.sources").content_string
        assert "URIs: http://127.0.0.1:8080/debian13/x86_64/" in text
        assert "Signed-By: /etc/apt/keyrings/dlops-nvidia-cuda.gpg" in text
        expected = host.file("/srv/nvidia-test-repo/fingerprint").content_string.strip()
        keys = host.check_output("gpg --show-keys --with-colons /etc/apt/keyrings/dlops-nvidia-cuda.gpg")
        assert "fpr:::::::::%s:" % expected in keys
        # apt took the packages from that repository
        assert "http://127.0.0.1:8080/debian13/x86_64" in host.check_output("apt-cache policy nvidia-smi")


def test_libcuda_answers_the_driver_api_version(host):
    out = host.check_output(
        "python3 -c \"import ctypes; v = ctypes.c_int(); "
        "print(ctypes.CDLL('libcuda.so.1').cuDriverGetVersion(ctypes.byref(v)), v.value)\"")
    assert out.split() == ["0", str(CUDA_API[branch(host)])]


def test_gpu_facts_see_the_userspace(host):
    facts = host.ansible("dlops.gpu.gpu_facts", check=False)["ansible_facts"]["gpu"]
    assert facts["present"] is False
    assert facts["userspace"]["version"].startswith(branch(host) + ".")
    assert json.dumps(facts["driver"]["mismatch"]) == "false"
