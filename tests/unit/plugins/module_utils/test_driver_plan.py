"""What the nvidia_driver role installs and checks, per distribution, method and flavour."""

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import driver_plan, rpm

MADISON_DEBIAN12 = """\
nvidia-smi | 535.247.01-1~deb12u1 | http://deb.debian.org/debian bookworm/non-free amd64 Packages
nvidia-smi | 535.216.01-1~deb12u1 | http://deb.debian.org/debian bookworm-updates/non-free amd64 Packages
  libcuda1 | 535.247.01-1~deb12u1 | http://deb.debian.org/debian bookworm/non-free amd64 Packages
"""


def spec(**kwargs):
    base = {"distribution": "Debian", "method": "distro", "branch": "535", "flavour": "open", "kernel": True,
            "kernel_release": "6.1.0-28-amd64"}
    base.update(kwargs)
    return driver_plan.nvidia_driver_packages(base)


@pytest.mark.parametrize("kwargs, install, dkms", [
    ({}, ["nvidia-driver", "nvidia-open-kernel-dkms", "linux-headers-6.1.0-28-amd64", "nvidia-persistenced"], True),
    ({"flavour": "proprietary"}, ["nvidia-driver", "nvidia-kernel-dkms", "linux-headers-6.1.0-28-amd64",
                                  "nvidia-persistenced"], True),
    ({"kernel": False}, ["nvidia-smi", "libcuda1", "libnvidia-ml1"], False),
    ({"method": "nvidia_repo", "branch": "580"}, ["nvidia-open-580", "linux-headers-6.1.0-28-amd64"], True),
    ({"method": "nvidia_repo", "branch": "580", "flavour": "proprietary"},
     ["cuda-drivers-580", "linux-headers-6.1.0-28-amd64"], True),
])
def test_debian_packages(kwargs, install, dkms):
    result = spec(**kwargs)
    assert result["install"] == install
    assert result["dkms"] is dkms


def test_ubuntu_prefers_canonicals_signed_modules():
    result = spec(distribution="Ubuntu", branch="580", kernel_release="6.8.0-48-generic")
    assert result["install"] == ["nvidia-driver-580-open"]
    assert result["optional"] == ["linux-modules-nvidia-580-open-6.8.0-48-generic"]
    assert spec(distribution="Ubuntu", branch="570", server=True, flavour="proprietary")["install"] == [
        "nvidia-driver-570-server"]
    assert spec(distribution="Ubuntu", branch="580", kernel=False)["install"] == [
        "libnvidia-compute-580", "nvidia-utils-580"]


def test_other_distributions_are_refused():
    with pytest.raises(ValueError, match="knows Debian, Ubuntu and the RHEL family, not SLES"):
        spec(distribution="SLES")


def test_rhel_family_takes_the_module_stream_and_the_meta_package():
    packages = spec(distribution="Rocky", family="RedHat", branch="580")
    assert packages["stream"] == "580-open"
    assert packages["install"] == ["nvidia-open", "nvidia-driver-cuda", "nvidia-driver-cuda-libs",
                                   "kernel-devel-6.1.0-28-amd64"]
    assert packages["specs"]["nvidia-open"] == "nvidia-open-580.*"
    assert packages["specs"]["kernel-devel-6.1.0-28-amd64"] == "kernel-devel-6.1.0-28-amd64"
    assert packages["dkms"] is True
    proprietary = spec(distribution="RedHat", family="RedHat", branch="570", flavour="proprietary",
                       version="570.195.03")
    assert proprietary["stream"] == "570-dkms" and proprietary["install"][0] == "cuda-drivers"
    assert proprietary["specs"]["cuda-drivers"] == "cuda-drivers-570.195.03*"
    userspace = spec(distribution="Rocky", family="RedHat", branch="580", kernel=False)
    assert userspace["install"] == ["nvidia-driver-cuda", "nvidia-driver-cuda-libs"] and not userspace["dkms"]


MODULE_INFO = """Name             : nvidia-driver
Stream           : 560-open
Version          : 5603503
Context          : 00000000
Architecture     : x86_64
Profiles         : default [d], fm, ks, src
Default profiles : default
Repo             : cuda-rhel9-x86_64
Summary          : Nvidia driver for 560-open branch
Description      : This package provides the most recent NVIDIA display driver: it has a colon: here.
Requires         :
Artifacts        : kmod-nvidia-open-dkms-3:560.35.03-1.el9.x86_64
                 : nvidia-driver-cuda-3:560.35.03-1.el9.x86_64
                 : nvidia-open-3:560.35.03-1.el9.noarch

Name             : nvidia-driver
Stream           : 580-open [e]
Version          : 5806508
Context          : 00000000
Architecture     : x86_64
Profiles         : default [d] [i], fm, ks, src
Default profiles : default
Repo             : cuda-rhel9-x86_64
Summary          : Nvidia driver for 580-open branch
Description      : This package provides the most recent NVIDIA display driver.
Requires         :
Artifacts        : nvidia-driver-cuda-3:580.65.06-1.el9.x86_64
                 : nvidia-open-3:580.65.06-1.el9.noarch

Name             : nvidia-driver
Stream           : 580-open [e]
Version          : 5809505
Context          : 00000000
Architecture     : x86_64
Profiles         : default [d] [i], fm, ks, src
Default profiles : default
Repo             : cuda-rhel9-x86_64
Summary          : Nvidia driver for 580-open branch
Description      : This package provides the most recent NVIDIA display driver.
Requires         :
Artifacts        : nvidia-driver-cuda-3:580.95.05-1.el9.x86_64
                 : nvidia-open-3:580.95.05-1.el9.noarch
                 : nvidia-open-devel-3:580.95.05-1.el9.noarch

Hint: [d]efault, [e]nabled, [x]disabled, [i]nstalled
"""


def test_module_streams_read_from_dnf_module_info():
    found = driver_plan.stream_versions(MODULE_INFO, "580-open", "nvidia-open")
    assert found == {"offered": ["560-open", "580-open"], "matching": ["3:580.65.06-1.el9", "3:580.95.05-1.el9"],
                     "enabled": "580-open"}
    assert driver_plan.stream_versions(MODULE_INFO, "580-open", "nvidia-open", "580.95")["matching"] == [
        "3:580.95.05-1.el9"]
    assert driver_plan.stream_versions(MODULE_INFO, "590-open", "nvidia-open")["matching"] == []
    empty = {"offered": [], "matching": [], "enabled": None}
    assert driver_plan.stream_versions("", "580-open", "nvidia-open") == empty


def test_dnf_change_from_the_installed_packages_and_the_enabled_stream():
    packages = spec(distribution="Rocky", family="RedHat", branch="580")
    installed = rpm.installed(
        "nvidia-open\t3:580.95.05-1.el9\nnvidia-driver-cuda\t3:580.95.05-1.el9\n"
        "nvidia-driver-cuda-libs\t3:580.95.05-1.el9\nkernel-devel-6.1.0-28-amd64\t(none):6.1.0-28\n"
        "package nvidia-persistenced is not installed\n")
    assert installed["kernel-devel-6.1.0-28-amd64"] == "0:6.1.0-28"
    assert driver_plan.dnf_change_needed(installed, packages, "580-open") is False
    assert driver_plan.dnf_change_needed(installed, packages, "580-open", "580.95.05") is False
    assert driver_plan.dnf_change_needed(installed, packages, "580-open", "580.65.06") is True
    assert driver_plan.dnf_change_needed(installed, packages, "580-dkms") is True
    assert driver_plan.dnf_change_needed(installed, packages, None) is True
    del installed["nvidia-driver-cuda-libs"]
    assert driver_plan.dnf_change_needed(installed, packages, "580-open") is True


@pytest.mark.parametrize("gpu, branch, flavour, message", [
    ({"index": 0, "name": "Tesla V100", "architecture": "Volta"}, "590", "proprietary", "up to the 580 branch"),
    ({"index": 0, "name": "GTX 1080", "architecture": "Pascal"}, "580", "open", "need Turing or newer"),
    ({"index": 1, "name": "RTX PRO 6000", "architecture": "Blackwell"}, "580", "proprietary",
     "need the open kernel modules"),
])
def test_preflight_refuses_what_the_gpus_cannot_use(gpu, branch, flavour, message):
    errors = driver_plan.nvidia_driver_preflight([gpu], branch, flavour)
    assert len(errors) == 1 and message in errors[0]
    prefix = "GPU %s (%s, %s) cannot use branch %s" % (gpu["index"], gpu["name"], gpu["architecture"], branch)
    assert errors[0].startswith(prefix)


def test_preflight_accepts_hopper_on_580_open_and_rejects_a_bad_branch():
    assert driver_plan.nvidia_driver_preflight([{"architecture": "Hopper"}], "580", "open") == []
    assert "is not a driver branch" in driver_plan.nvidia_driver_preflight([], "latest", "open")[0]


def test_branch_versions_from_madison():
    offer = driver_plan.branch_versions(MADISON_DEBIAN12, "nvidia-smi", "535")
    assert offer["offered"] == ["535.247.01-1~deb12u1", "535.216.01-1~deb12u1"]
    assert offer["matching"] == offer["offered"]
    assert offer["known"] == ["nvidia-smi", "libcuda1"]
    assert driver_plan.branch_versions(MADISON_DEBIAN12, "nvidia-smi", "550")["matching"] == []
    assert driver_plan.branch_versions(MADISON_DEBIAN12, "nvidia-smi", "535", "535.216")["matching"] == [
        "535.216.01-1~deb12u1"]


H100 = {"kernel": {"loaded": True, "version": "580.159.04", "flavour": "open"},
        "driver": {"mismatch": False}}


def test_running_driver_matches_the_pin():
    assert driver_plan.running_matches(H100, "580", "", "open") is True
    assert driver_plan.running_matches(H100, "580", "580.159.04", "open") is True
    assert driver_plan.running_matches(H100, "570", "", "open") is False
    assert driver_plan.running_matches(H100, "580", "", "proprietary") is False
    assert driver_plan.running_matches(H100, "580", "", "proprietary", kernel=False) is True
    assert driver_plan.running_matches(dict(H100, driver={"mismatch": True}), "580") is False


def test_gpu_processes_are_listed():
    gpus = [{"index": 0, "processes": [{"pid": 4242, "name": "python3", "used_memory_mib": 1542}]}]
    assert driver_plan.gpu_processes(gpus) == ["GPU 0: pid 4242 python3 (1542 MiB)"]


def test_branch_versioned_packages_are_asked_for_at_the_branch():
    specs = driver_plan.nvidia_driver_packages({"distribution": "Debian", "branch": "550", "kernel": False})["specs"]
    assert specs == {"nvidia-smi": "nvidia-smi=550.*", "libcuda1": "libcuda1=550.*", "libnvidia-ml1": "libnvidia-ml1=550.*"}
    exact = driver_plan.nvidia_driver_packages({"distribution": "Debian", "branch": "535", "version": "535.247.01",
                                                "kernel_release": "6.1.0-30-amd64"})["specs"]
    assert exact["nvidia-driver"] == "nvidia-driver=535.247.01*"
    assert exact["linux-headers-6.1.0-30-amd64"] == "linux-headers-6.1.0-30-amd64"
    assert exact["nvidia-persistenced"] == "nvidia-persistenced"
    ubuntu = driver_plan.nvidia_driver_packages({"distribution": "Ubuntu", "branch": "580", "kernel_release": "6.8.0-45"})
    assert ubuntu["specs"]["linux-modules-nvidia-580-open-6.8.0-45"] == "linux-modules-nvidia-580-open-6.8.0-45"
    assert ubuntu["specs"]["nvidia-driver-580-open"] == "nvidia-driver-580-open=580.*"


def test_a_host_whose_system_names_no_repository_folder_is_refused_for_nvidia_repo():
    host = {"distribution": None, "os_family": "Debian", "distribution_version": "",
            "distribution_major_version": "", "architecture": "x86_64", "kernel": "6.8.0"}
    errors = driver_plan.plan({}, {"method": "nvidia_repo", "branch": "580"}, host)["errors"]
    assert any("NVIDIA's repository has no folder for this host" in e and '"/x86_64"' in e for e in errors)
    ubuntu = dict(host, distribution="Ubuntu", distribution_version="24.04", distribution_major_version="24")
    assert not any("no folder" in e for e in driver_plan.plan({}, {"method": "nvidia_repo", "branch": "580"},
                                                              ubuntu)["errors"])
