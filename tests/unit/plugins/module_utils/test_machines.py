from ansible_collections.dlops.gpu.plugins.module_utils import machines


def test_every_name_of_x86_64_and_aarch64():
    assert machines.names("x86_64") == {"redist": "linux-x86_64", "repo": "x86_64", "deb": "amd64", "rpm": "x86_64",
                                        "triplet": "x86_64-linux-gnu"}
    assert machines.names("aarch64")["repo"] == "sbsa" and machines.names("aarch64")["deb"] == "arm64"


def test_debian_names_lead_to_the_same_row():
    assert machines.names("amd64") == machines.names("x86_64")
    assert machines.redist_platform("arm64") == "linux-sbsa"


def test_a_machine_without_redist_archives_and_one_not_in_the_table():
    assert machines.redist_platform("ppc64le") is None
    assert machines.names("riscv64") == {"redist": None, "repo": "riscv64", "deb": "riscv64", "rpm": "riscv64",
                                         "triplet": "riscv64-linux-gnu"}
    assert machines.redist_platform(None) is None
