"""The gpu_facts probe on fake sysfs/proc/usr trees (what the module's test_root option does)."""

import json
import os
import shutil

from ansible_collections.dlops.gpu.plugins.module_utils import gpu_probe

from ...conftest import FIXTURES

LIB = gpu_probe.lib_dirs("/")[0]  # /usr/lib/<triplet>
NVRM_OPEN = ("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  %s  Release Build  "
             "(dvs-builder@U16)  Tue Sep 23 2025\nGCC version:  gcc version 13.3.0\n")
NVRM_PROPRIETARY = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Tue Jun  6 22:20:39 UTC 2023\n"


def write(root, path, text=""):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)
    return full


def link(root, path, target):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def gpu_on_pci(root, bus="0000:01:00.0", driver=None, device="0x2330"):
    base = "/sys/bus/pci/devices/%s" % bus
    write(root, base + "/vendor", "0x10de\n")
    write(root, base + "/device", device + "\n")
    write(root, base + "/class", "0x030200\n")
    if driver:
        os.makedirs(os.path.join(str(root), "sys/bus/pci/drivers", driver), exist_ok=True)
        link(root, base + "/driver", "../../../bus/pci/drivers/" + driver)
    # the card's audio function is not a GPU
    write(root, "/sys/bus/pci/devices/%s1/vendor" % bus[:-1], "0x10de\n")
    write(root, "/sys/bus/pci/devices/%s1/class" % bus[:-1], "0x040300\n")


def driver_libs(root, version):
    write(root, LIB + "/libnvidia-ml.so." + version)
    link(root, LIB + "/libnvidia-ml.so.1", "libnvidia-ml.so." + version)
    write(root, LIB + "/libcuda.so." + version)
    link(root, LIB + "/libcuda.so.1", "libcuda.so." + version)


def facts(root):
    return gpu_probe.probe_host(root=str(root))


def test_host_without_gpu_reports_absence(tmp_path):
    result = facts(tmp_path)
    assert result["present"] is False
    assert result["count"] == 0
    assert result["gpus"] == [] and result["pci"] == [] and result["toolkits"] == []
    assert result["driver"]["mismatch"] is False and result["driver"]["reboot_required"] is False
    assert result["busy"] is False


def test_gpu_before_any_driver(tmp_path):
    gpu_on_pci(tmp_path)
    result = facts(tmp_path)
    assert result["present"] is True
    assert result["count"] == 1
    assert result["pci"] == [{"bus_id": "0000:01:00.0", "device_id": "0x2330", "class": "0x030200",
                              "driver": "none"}]
    assert result["kernel"]["loaded"] is False
    assert result["userspace"]["version"] is None
    assert result["driver"]["reboot_required"] is False


def test_nouveau_bound(tmp_path):
    gpu_on_pci(tmp_path, driver="nouveau")
    write(tmp_path, "/sys/module/nouveau/initstate", "live\n")
    result = facts(tmp_path)
    assert result["pci"][0]["driver"] == "nouveau"
    assert result["nouveau_loaded"] is True


def test_mismatch_after_an_upgrade(tmp_path):
    gpu_on_pci(tmp_path, driver="nvidia")
    write(tmp_path, "/proc/driver/nvidia/version", NVRM_PROPRIETARY % "550.127.05")
    driver_libs(tmp_path, "580.95.05")
    result = facts(tmp_path)
    assert result["kernel"] == {"loaded": True, "version": "550.127.05", "flavour": "proprietary",
                                "source": "/proc/driver/nvidia/version"}
    assert result["userspace"]["version"] == "580.95.05"
    assert result["userspace"]["libnvidia_ml"] == LIB + "/libnvidia-ml.so.580.95.05"
    assert result["driver"]["mismatch"] is True
    assert result["driver"]["reboot_required"] is True
    assert "550.127.05" in result["driver"]["reason"] and "580.95.05" in result["driver"]["reason"]
    assert result["driver"]["version"] == "550.127.05"  # what runs is what the kernel has loaded


def test_installed_but_not_loaded_needs_a_reboot(tmp_path):
    gpu_on_pci(tmp_path, driver="nouveau")
    driver_libs(tmp_path, "580.95.05")
    result = facts(tmp_path)
    assert result["driver"]["mismatch"] is False
    assert result["driver"]["reboot_required"] is True
    assert "not loaded" in result["driver"]["reason"]


def test_sys_module_version_fallback(tmp_path):
    write(tmp_path, "/sys/module/nvidia/version", "580.95.05\n")
    kernel = gpu_probe.kernel_module(str(tmp_path))
    assert kernel == {"loaded": True, "version": "580.95.05", "flavour": None,
                      "source": "/sys/module/nvidia/version"}


def toolkit(root, series, version, cudnn=None):
    base = "/usr/local/cuda-%s" % series
    write(root, base + "/version.json", json.dumps({"cuda": {"name": "CUDA SDK", "version": version}}))
    if cudnn:
        major, minor, patch = cudnn.split(".")
        write(root, base + "/include/cudnn_version.h",
              "#define CUDNN_MAJOR %s\n#define CUDNN_MINOR %s\n#define CUDNN_PATCHLEVEL %s\n" % (major, minor, patch))


def test_two_toolkits_with_the_link_owned_by_alternatives(tmp_path):
    gpu_on_pci(tmp_path, driver="nvidia")
    write(tmp_path, "/proc/driver/nvidia/version", NVRM_OPEN % "575.57.08")
    driver_libs(tmp_path, "575.57.08")
    toolkit(tmp_path, "12.4", "12.4.1", cudnn="9.10.0")
    toolkit(tmp_path, "13.0", "13.0.2")
    write(tmp_path, "/usr/local/cuda-11.8/lib64/libcudart.so.11.8.89")
    link(tmp_path, "/usr/local/cuda-11.8/lib64/libcudart.so.11.0", "libcudart.so.11.8.89")
    link(tmp_path, "/etc/alternatives/cuda", "/usr/local/cuda-12.4")
    link(tmp_path, "/usr/local/cuda", "/etc/alternatives/cuda")
    write(tmp_path, "/var/lib/dpkg/alternatives/cuda", "auto\n/usr/local/cuda\n")
    os.makedirs(os.path.join(str(tmp_path), "usr/local/cuda-notes"))  # not a toolkit name
    result = facts(tmp_path)
    by_series = {t["series"]: t for t in result["toolkits"]}
    assert sorted(by_series) == ["11.8", "12.4", "13.0"]
    assert by_series["12.4"]["version"] == "12.4.1"
    assert by_series["12.4"]["cudnn"] == {"version": "9.10.0", "source": "/usr/local/cuda-12.4/include/cudnn_version.h"}
    assert by_series["12.4"]["driver_support"] == "full"
    assert by_series["13.0"]["cudnn"] is None
    assert by_series["13.0"]["driver_support"] == "unsupported"
    assert by_series["13.0"]["min_driver"] == "580.95.05"
    assert by_series["11.8"]["version"] == "11.8.89" and by_series["11.8"]["version_source"] == "libcudart"
    assert result["cuda_default"] == {"path": "/usr/local/cuda", "exists": True, "target": "/etc/alternatives/cuda",
                                      "resolved": "/usr/local/cuda-12.4", "series": "12.4", "major_series": None,
                                      "alternatives": True, "alternatives_manual": False}
    assert result["kernel"]["flavour"] == "open"


def test_alternatives_in_manual_mode_at_the_toolkit_are_what_a_switch_leaves(tmp_path):
    """As NVIDIA's packages and cuda_select leave them on the H200: cuda and cuda-13 both alternatives."""
    for series in ("12.8", "13.0"):
        toolkit(tmp_path, series, series + ".1")
    link(tmp_path, "/usr/local/cuda", "/etc/alternatives/cuda")
    link(tmp_path, "/usr/local/cuda-13", "/etc/alternatives/cuda-13")
    link(tmp_path, "/etc/alternatives/cuda", "/usr/local/cuda-13.0")
    link(tmp_path, "/etc/alternatives/cuda-13", "/usr/local/cuda-13.0")
    for name, mode in (("cuda", "manual"), ("cuda-13", "manual")):
        write(tmp_path, "/var/lib/dpkg/alternatives/" + name, "%s\n/usr/local/%s\n" % (mode, name))
    info = gpu_probe.default_link("/usr/local", str(tmp_path))
    assert (info["series"], info["major_series"], info["alternatives"], info["alternatives_manual"]) == (
        "13.0", "13.0", True, True)
    # cuda-13 still in auto mode: a package install may move it, so the switch must run.
    write(tmp_path, "/var/lib/dpkg/alternatives/cuda-13", "auto\n/usr/local/cuda-13\n")
    assert gpu_probe.default_link("/usr/local", str(tmp_path))["alternatives_manual"] is False
    write(tmp_path, "/var/lib/dpkg/alternatives/cuda-13", "manual\n/usr/local/cuda-13\n")
    # The choice written through another link than the toolkit's own path: the switch rewrites it.
    os.unlink(os.path.join(str(tmp_path), "etc/alternatives/cuda"))
    link(tmp_path, "/etc/alternatives/cuda", "/usr/local/cuda-13")
    assert gpu_probe.default_link("/usr/local", str(tmp_path))["alternatives_manual"] is False


def test_default_link_and_its_major_link(tmp_path):
    """cuda_select points <prefix>/cuda-X at the toolkit too: the probe says where it leads, or None."""
    toolkit(tmp_path, "13.0", "13.0.2")
    toolkit(tmp_path, "12.8", "12.8.1")
    link(tmp_path, "/usr/local/cuda", "/usr/local/cuda-13.0")
    assert gpu_probe.default_link("/usr/local", str(tmp_path))["major_series"] is None
    link(tmp_path, "/usr/local/cuda-13", "cuda-13.0")
    info = gpu_probe.default_link("/usr/local", str(tmp_path))
    assert (info["series"], info["major_series"], info["alternatives"]) == ("13.0", "13.0", False)
    link(tmp_path, "/usr/local/cuda-12", "/usr/local/cuda-12.8")
    os.remove(os.path.join(str(tmp_path), "usr/local/cuda"))
    link(tmp_path, "/usr/local/cuda", "cuda-12.8")
    info = gpu_probe.default_link("/usr/local", str(tmp_path))
    assert (info["series"], info["major_series"]) == ("12.8", "12.8")


def test_busy_gpu_from_a_stand_in_nvidia_smi(tmp_path):
    gpu_on_pci(tmp_path, driver="nvidia")
    write(tmp_path, "/proc/driver/nvidia/version", NVRM_PROPRIETARY % "460.39")
    shutil.copy(os.path.join(FIXTURES, "nvidia-smi", "datakit__gtx-1card.xml"),
                os.path.join(str(tmp_path), "nvidia-smi-q-x.xml"))
    result = facts(tmp_path)
    assert result["busy"] is True
    assert result["nvml"]["source"] == "nvidia-smi"
    assert len(result["gpus"][0]["processes"]) == 4
    assert result["gpus"][0]["architecture"] is None or isinstance(result["gpus"][0]["architecture"], str)


def test_system_cudnn_from_the_distribution_header(tmp_path):
    triplet = os.path.basename(LIB)
    write(tmp_path, "/usr/include/%s/cudnn_version_v9.h" % triplet,
          "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 14\n#define CUDNN_PATCHLEVEL 0\n")
    assert gpu_probe.system_cudnn(str(tmp_path))["version"] == "9.14.0"


def test_kept_h100_facts_agree_with_the_h100_capture():
    """The facts and nvidia-smi capture made on the real H100 host describe the same GPU."""
    from ansible_collections.dlops.gpu.plugins.module_utils.nvidia_smi import parse_nvidia_smi_xml
    base = os.path.join(FIXTURES, "gpu_facts", "h100-ubuntu2404-580-open")
    with open(base + ".json") as handle:
        kept = json.load(handle)
    with open(base + ".nvidia-smi.xml", "rb") as handle:
        smi = parse_nvidia_smi_xml(handle.read())
    assert kept["driver"]["version"] == smi["driver_version"]
    assert kept["driver"]["cuda_driver_version"] == smi["cuda_driver_version"]
    for key in ("name", "uuid", "memory_total_mib", "persistence_mode", "mig_mode", "ecc_enabled", "architecture"):
        assert kept["gpus"][0][key] == smi["gpus"][0][key], key
    assert kept["kernel"]["flavour"] == "open"
    assert kept["cuda_default"]["alternatives"] is True
    assert kept["toolkits"][0]["driver_support"] == "full"


def test_cdi_spec_and_the_driver_it_was_made_for(tmp_path):
    assert gpu_probe.cdi_spec(str(tmp_path)) == {"spec": None, "driver_version": None}
    write(tmp_path, "/var/run/cdi/nvidia.yaml",
          "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits:\n  mounts:\n"
          "  - hostPath: /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.159.04\n")
    assert gpu_probe.cdi_spec(str(tmp_path)) == {"spec": "/var/run/cdi/nvidia.yaml", "driver_version": "580.159.04"}
    write(tmp_path, "/etc/cdi/nvidia.yaml", "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\n")
    assert gpu_probe.cdi_spec(str(tmp_path)) == {"spec": "/etc/cdi/nvidia.yaml", "driver_version": None}


def test_a_link_into_another_alternative_is_not_owned_by_alternatives(tmp_path):
    """Only the alternative named cuda is the collection's to switch; a foreign one is reported as a plain link."""
    toolkit(tmp_path, "12.8", "12.8.1")
    link(tmp_path, "/etc/alternatives/foo", "/usr/local/cuda-12.8")
    link(tmp_path, "/usr/local/cuda", "/etc/alternatives/foo")
    write(tmp_path, "/var/lib/dpkg/alternatives/foo", "auto\n/usr/bin/foo\n")
    info = gpu_probe.default_link("/usr/local", str(tmp_path))
    assert (info["target"], info["series"], info["alternatives"]) == ("/etc/alternatives/foo", "12.8", False)


OS_RELEASES = {
    # /etc/os-release as Ubuntu 24.04, Debian 12, Rocky Linux 9.4 and Amazon Linux 2023 ship it.
    "ubuntu": ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble Numbat)"\n'
               'VERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n',
               ("Ubuntu", "Debian", "24.04", "24", "noble")),
    "debian": ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
               'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
               ("Debian", "Debian", "12", "12", "bookworm")),
    "rocky": ('NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
              'VERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\n',
              ("Rocky", "RedHat", "9.4", "9", "")),
    "amzn": ('NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
             ("Amazon", "RedHat", "2023", "2023", "")),
}


def test_system_names_the_distribution_as_ansible_does(tmp_path):
    for name, (text, (dist, family, version, major, release)) in OS_RELEASES.items():
        root = tmp_path / name
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "os-release").write_text(text)
        found = gpu_probe.system(str(root))
        assert (found["distribution"], found["os_family"], found["distribution_version"],
                found["distribution_major_version"], found["distribution_release"]) == \
            (dist, family, version, major, release), name
        assert found["kernel"] == os.uname().release and found["architecture"] == os.uname().machine
        machine = os.uname().machine
        expected = {"x86_64": {"Debian": "amd64", "RedHat": "x86_64"},
                    "aarch64": {"Debian": "arm64", "RedHat": "aarch64"}}.get(machine, {}).get(family, machine)
        assert found["package_architecture"] == expected


def test_system_reads_usr_lib_os_release_and_tolerates_none(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "usr" / "lib" / "os-release").write_text("ID='debian'\nVERSION_ID=\"13\"\n")
    assert gpu_probe.system(str(tmp_path))["distribution"] == "Debian"
    empty = gpu_probe.system(str(tmp_path / "nothing"))
    assert empty["distribution"] is None and empty["os_family"] is None and empty["distribution_major_version"] == ""


def test_os_release_unquotes_and_skips_what_is_not_a_field():
    assert gpu_probe.os_release('# comment\nNAME="A \\"quoted\\" name"\nbad line\nlower=x\nID=x\n') == {
        "NAME": 'A "quoted" name', "ID": "x"}


def test_probe_host_reports_the_system_of_the_host_itself(tmp_path):
    facts = gpu_probe.probe_host(str(tmp_path), nvml=False)
    assert facts["system"] == gpu_probe.system("/")


def test_os_release_values_that_are_not_one_plain_word_are_dropped(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('ID="x/../../evil?q=#"\nID_LIKE="ubuntu debian"\n'
                                                 'VERSION_ID="24.04/../../other"\nVERSION_CODENAME="../../x"\n')
    found = gpu_probe.system(str(tmp_path))
    assert found["distribution"] is None and found["os_family"] == "Debian"
    assert (found["distribution_version"], found["distribution_release"]) == ("", "")
