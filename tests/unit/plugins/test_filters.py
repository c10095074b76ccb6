import glob
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dlops.gpu.plugins.filter import driver, fleet
from ansible_collections.dlops.gpu.plugins.filter.cuda import FilterModule

FILTERS = FilterModule().filters()


def test_examples_from_the_docs():
    assert FILTERS["cuda_min_driver"]("12.4") == "550.54.14"
    assert FILTERS["cuda_driver_support"]("12.8", "550.54.15") == "minor-compat"


def test_bad_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="cuda_min_driver"):
        FILTERS["cuda_min_driver"]("99.1")


def test_every_filter_has_its_documentation():
    names = set(FILTERS) | set(driver.FilterModule().filters()) | set(fleet.FilterModule().filters())
    folder = os.path.dirname(driver.__file__)
    documented = set(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(folder, "*.yml")))
    assert names == documented


def test_the_driver_plan_of_an_unknown_system_says_so_instead_of_raising():
    plan = driver.FilterModule().filters()["nvidia_driver_plan"](
        {}, {"method": "distro", "branch": "580"}, {"distribution": "Archlinux", "os_family": "Archlinux"})
    assert plan["errors"][0].startswith("the nvidia_driver role supports Debian, Ubuntu and the RHEL family")
    assert plan["packages"]["install"] == []
