"""driver_plan.plan: the nvidia_driver role's whole decision, on a real H100 probe and recorded package manager
answers (apt-cache madison, dpkg-query, apt-get --simulate, rpm, dnf module info)."""

import copy
import json
import os

from ansible_collections.dlops.gpu.plugins.module_utils import driver_plan
from ansible_collections.dlops.gpu.tests.unit.conftest import FIXTURES
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_driver_plan import MADISON_DEBIAN12, MODULE_INFO

with open(os.path.join(FIXTURES, "gpu_facts", "h100-ubuntu2404-580-open.json")) as handle:
    H100 = json.load(handle)
NO_GPU = {"present": False, "busy": False, "gpus": [], "kernel": {"loaded": False, "version": None},
          "driver": {"mismatch": False}, "userspace": {"version": None}}
SETTINGS = {"method": "distro", "package_manager": "auto", "branch": "", "version": "", "flavour": "open",
            "kernel": True, "server": False, "persistenced": True, "allow_busy": False, "reboot": False,
            "repo_key_file": "", "repo_key_fingerprint": ""}
DEBIAN12 = {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
            "os_family": "Debian", "architecture": "x86_64", "kernel": "6.1.0-28-amd64"}
UBUNTU = {"distribution": "Ubuntu", "distribution_version": "24.04", "distribution_major_version": "24",
          "os_family": "Debian", "architecture": "x86_64", "kernel": "6.8.0-1017-nvidia"}
ROCKY9 = {"distribution": "Rocky", "distribution_version": "9.4", "distribution_major_version": "9",
          "os_family": "RedHat", "architecture": "aarch64", "kernel": "5.14.0-427.el9.aarch64"}
DPKG_NONE = ("dpkg-query: no packages found matching nvidia-smi\n")
SIMULATE_INSTALL = "NOTE: simulation\nInst nvidia-smi (535.247.01-1~deb12u1 Debian:12.8/stable [amd64])\n"
SIMULATE_NOTHING = "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"


def settings(**kwargs):
    return dict(SETTINGS, **kwargs)


def test_a_forced_debian_12_stand_in_for_the_userspace_before_and_after_the_package_manager_answers():
    first = driver_plan.plan(NO_GPU, settings(kernel=False), DEBIAN12, {"installed": None})
    assert first["errors"] == []
    assert (first["manager"], first["branch"], first["offer"]) == ("apt", "535", None)
    assert first["packages"]["install"] == ["nvidia-smi", "libcuda1", "libnvidia-ml1"]
    assert first["install_specs"] == ["nvidia-smi=535.*", "libcuda1=535.*", "libnvidia-ml1=535.*"]
    assert first["hold"] == first["packages"]["install"]
    assert not first["predicted_change"] and not first["running_matches"] and not first["leave_running"]
    assert first["intent"] == "Branch 535 (userspace only) from distro: nvidia-smi, libcuda1, libnvidia-ml1."
    assert first["repo_dir"] == "debian12/x86_64"
    assert first["repo_key"]["fingerprint"] == "EB693B3035CD5710E231E123A4B469963BF863CC"
    assert first["initramfs"] == ["/usr/sbin/update-initramfs", "-u"]
    later = driver_plan.plan(NO_GPU, settings(kernel=False), DEBIAN12, {
        "installed": DPKG_NONE, "madison": MADISON_DEBIAN12, "predict": SIMULATE_INSTALL})
    assert later["offer"]["matching"] == ["535.247.01-1~deb12u1", "535.216.01-1~deb12u1"]
    assert later["predicted_change"] and not later["packaged"] and not later["stale"]


def test_the_h100s_driver_from_the_image_is_left_as_it_is_and_a_packaged_one_kept():
    image = driver_plan.plan(H100, settings(branch="580"), UBUNTU, {"installed": ""})
    assert image["running_matches"] and image["leave_running"] and image["errors"] == []
    assert image["intent"] == ("Driver 580.159.04 (open) runs and is the one asked for; it was not installed from "
                               "packages, so it is left as it is.")
    assert image["packages"]["install"] == ["nvidia-driver-580-open"]
    assert image["repo_dir"] == "ubuntu2404/x86_64"
    packaged = driver_plan.plan(H100, settings(branch="580"), UBUNTU, {
        "installed": "nvidia-driver-580-open\tinstall ok installed\n", "madison": "", "predict": SIMULATE_NOTHING})
    assert packaged["running_matches"] and not packaged["leave_running"] and not packaged["predicted_change"]
    assert packaged["intent"].endswith("its packages are kept pinned and held.")


def test_ubuntus_signed_modules_are_asked_for_only_where_the_sources_offer_them():
    madison = ("nvidia-driver-570-open | 570.195.03-0ubuntu1 | http://archive.ubuntu.com/ubuntu noble/restricted\n"
               "linux-modules-nvidia-570-open-6.8.0-1017-nvidia | 6.8.0-1017.17 | http://archive.ubuntu.com\n")
    offered = driver_plan.plan(H100, settings(branch="570"), UBUNTU, {"installed": "", "madison": madison})
    assert offered["wanted_packages"] == ["nvidia-driver-570-open", "linux-modules-nvidia-570-open-6.8.0-1017-nvidia"]
    assert offered["install_specs"][1] == "linux-modules-nvidia-570-open-6.8.0-1017-nvidia"
    bare = driver_plan.plan(H100, settings(branch="570"), UBUNTU, {"installed": "", "madison": madison.split("\n", 1)[0]})
    assert bare["wanted_packages"] == ["nvidia-driver-570-open"]


def test_a_branch_change_under_busy_gpus_is_guarded_and_said():
    busy = copy.deepcopy(H100)
    busy["busy"] = True
    busy["gpus"][0]["processes"] = [{"pid": 4242, "name": "python3", "used_memory_mib": 1542}]
    reports = {"installed": "nvidia-driver-580-open\tinstall ok installed\n", "madison": "",
               "predict": "Inst nvidia-driver-570-open [580.159.04-0ubuntu1] (570.195.03-0ubuntu1 Ubuntu)\n"}
    plan = driver_plan.plan(busy, settings(branch="570", reboot=True), UBUNTU, reports)
    assert plan["predicted_change"] and plan["busy_change"]
    assert plan["processes"] == ["GPU 0: pid 4242 python3 (1542 MiB)"]
    assert plan["intent"] == ("Branch 570 (open) from distro: nvidia-driver-570-open, replacing the loaded 580.159.04 "
                              "(open); GPUs busy: GPU 0: pid 4242 python3 (1542 MiB); then reload of the modules, "
                              "else a reboot.")
    assert not driver_plan.plan(busy, settings(branch="570", allow_busy=True), UBUNTU, reports)["busy_change"]


def test_the_debian_kernel_headers_missing_from_the_sources_are_named():
    plan = driver_plan.plan(NO_GPU, settings(), DEBIAN12, {"installed": DPKG_NONE, "madison": MADISON_DEBIAN12})
    assert plan["packages"]["install"] == ["nvidia-driver", "nvidia-open-kernel-dkms", "linux-headers-6.1.0-28-amd64",
                                           "nvidia-persistenced"]
    assert plan["headers_missing"] == ["linux-headers-6.1.0-28-amd64"]
    assert "linux-headers-6.1.0-28-amd64" not in plan["hold"]
    installed = "linux-headers-6.1.0-28-amd64\tinstall ok installed\n"
    assert driver_plan.plan(NO_GPU, settings(), DEBIAN12, {"installed": installed, "madison": ""})["headers_missing"] == []


def test_the_rhel_family_reads_rpm_and_the_module_streams():
    rpm = "nvidia-open\t3:580.65.06-1.el9\nnvidia-driver-cuda\t3:580.65.06-1.el9\nnvidia-driver-cuda-libs\t3:580.65.06-1.el9\n" \
          "kernel-devel-5.14.0-427.el9.aarch64\t(none):5.14.0-427.el9\n"
    plan = driver_plan.plan(NO_GPU, settings(branch="580"), ROCKY9, {"installed": rpm, "module_info": MODULE_INFO})
    assert (plan["manager"], plan["packages"]["stream"], plan["repo_dir"]) == ("dnf", "580-open", "rhel9/sbsa")
    assert plan["repo_key"]["file"] == "D42D0685.pub"
    assert plan["offer"]["enabled"] == "580-open" and plan["offer"]["matching"]
    assert plan["rpm"]["kernel-devel-5.14.0-427.el9.aarch64"] == "0:5.14.0-427.el9"
    assert not plan["predicted_change"]
    assert plan["initramfs"] == ["/usr/bin/dracut", "-f"]
    assert driver_plan.plan(NO_GPU, settings(branch="560"), ROCKY9,
                            {"installed": rpm, "module_info": MODULE_INFO})["predicted_change"]
    assert driver_plan.plan(NO_GPU, settings(branch="580", version="580.95.05"), ROCKY9,
                            {"installed": rpm, "module_info": MODULE_INFO})["predicted_change"]


def test_every_bad_setting_is_named_at_once():
    plan = driver_plan.plan(H100, settings(method="runfile", branch="5x", version="580.95.05\n"), UBUNTU)
    assert plan["errors"] == [
        "nvidia_driver_method must be distro or nvidia_repo, not runfile",
        "nvidia_driver_branch must be the branch number only (such as \"580\") or empty, not \"5x\"",
        "nvidia_driver_version must be digits X.Y or X.Y.Z (such as \"580.95.05\") or empty, not \"580.95.05\\n\""]
    fedora = dict(DEBIAN12, distribution="Fedora", os_family="RedHat", distribution_major_version="41")
    assert driver_plan.plan(NO_GPU, settings(branch="580"), fedora)["errors"] == [
        "the nvidia_driver role supports Debian, Ubuntu and the RHEL family 8 and 9 (dnf module streams); this host "
        "runs Fedora 41"]


def test_a_stale_module_after_an_upgrade():
    upgraded = copy.deepcopy(H100)
    upgraded["userspace"]["version"] = "580.95.05"
    assert driver_plan.plan(upgraded, settings(branch="580"), UBUNTU)["stale"]
    assert not driver_plan.plan(upgraded, settings(branch="580", kernel=False), UBUNTU)["stale"]
    assert not driver_plan.plan(H100, settings(branch="580"), UBUNTU)["stale"]
