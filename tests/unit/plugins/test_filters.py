import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dlops.gpu.plugins.filter.cuda import FilterModule

FILTERS = FilterModule().filters()


def test_examples_from_the_docs():
    assert FILTERS["cuda_min_driver"]("12.4") == "550.54.14"
    assert FILTERS["cuda_driver_support"]("12.8", "550.54.15") == "minor-compat"


def test_bad_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="cuda_min_driver"):
        FILTERS["cuda_min_driver"]("99.1")
