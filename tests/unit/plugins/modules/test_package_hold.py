"""The versionlock list package_hold writes for dnf hosts: its own entries replaced, every other line kept."""

from ansible_collections.dlops.gpu.plugins.modules import package_hold

NAMES = ["nvidia-container-toolkit", "nvidia-container-toolkit-base"]


def test_entries_added_to_an_empty_list():
    assert package_hold.versionlock_lines("", NAMES, "1.17.8-1") == (
        "nvidia-container-toolkit-0:1.17.8-1.*\nnvidia-container-toolkit-base-0:1.17.8-1.*\n")


def test_other_versions_replaced_and_other_packages_kept():
    text = ("# kept by the operator\nkernel-0:5.14.0-427.el9.*\nnvidia-container-toolkit-0:1.17.7-1.*\n"
            "!nvidia-container-toolkit-base-1.16.0-1.*\nnvidia-container-toolkit-extra-0:1.0-1.*\n")
    after = package_hold.versionlock_lines(text, NAMES, "1.17.8-1").splitlines()
    assert after == ["# kept by the operator", "kernel-0:5.14.0-427.el9.*", "nvidia-container-toolkit-extra-0:1.0-1.*",
                     "nvidia-container-toolkit-0:1.17.8-1.*", "nvidia-container-toolkit-base-0:1.17.8-1.*"]


def test_unhold_removes_only_the_packages_entries():
    text = "kernel-0:5.14.0-427.el9.*\nnvidia-container-toolkit-0:1.17.8-1.*\n"
    assert package_hold.versionlock_lines(text, NAMES) == "kernel-0:5.14.0-427.el9.*\n"
    assert package_hold.versionlock_lines("nvidia-container-toolkit-0:1.17.8-1.*\n", NAMES) == ""


def test_same_version_gives_the_same_text():
    text = package_hold.versionlock_lines("kernel-0:5.14.0-427.el9.*\n", NAMES, "1.17.8-1")
    assert package_hold.versionlock_lines(text, NAMES, "1.17.8-1") == text


def test_entries_at_each_packages_installed_version():
    text = "nvidia-open-3:560.35.03-1.*\nkernel-0:5.14.0-427.el9.*\n"
    after = package_hold.versionlock_lines(text, ["nvidia-open", "nvidia-driver-cuda"],
                                           {"nvidia-open": "3:580.95.05-1.el9"})
    assert after.splitlines() == ["kernel-0:5.14.0-427.el9.*", "nvidia-open-3:580.95.05-1.el9.*"]
