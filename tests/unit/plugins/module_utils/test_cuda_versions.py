import csv
import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions as cv

from ...conftest import FIXTURES


def reference_rows():
    with open(os.path.join(FIXTURES, "reference", "cuda_driver_table.tsv")) as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def test_table_matches_the_reference_release_notes():
    rows = reference_rows()
    assert len(rows) == len(cv.CUDA_MIN_DRIVER)
    for row in rows:
        expected = row["min_linux_driver_release_notes"]
        if expected.startswith("("):  # not listed: the runfile's bundled driver
            expected = row["runfile_bundled_driver"]
        assert cv.CUDA_MIN_DRIVER[row["toolkit_version"]] == expected, row["toolkit_version"]


@pytest.mark.parametrize("cuda, driver", [
    ("12.4", "550.54.14"), ("12.4.1", "550.54.15"), ("13.0", "580.65.06"), ("11.8", "520.61.05"),
    ("12.4.131", "550.54.15"),  # a component version: the highest of 12.4, the safe answer
    ("13.0.88", "580.95.05"),
])
def test_min_driver(cuda, driver):
    assert cv.cuda_min_driver(cuda) == driver


@pytest.mark.parametrize("cuda, driver, support", [
    ("12.8", "550.54.15", "minor-compat"),
    ("12.8", "570.124.06", "full"),
    ("12.4", "580.159.04", "full"),
    ("13.0", "580.159.04", "full"),
    ("13.1", "580.159.04", "minor-compat"),
    ("13.0", "575.57.08", "unsupported"),
    ("12.0", "470.82.01", "unsupported"),
    ("11.8", "470.82.01", "minor-compat"),
    ("11.0.1", "450.36.06", "full"),
    ("11.0", "450.36.06", "minor-compat"),  # X.Y.0 is not a release of 11.0: highest minimum taken
])
def test_driver_support(cuda, driver, support):
    assert cv.cuda_driver_support(cuda, driver) == support


def test_unknown_versions_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="12.4"):
        cv.cuda_min_driver("14.9")
    with pytest.raises(ValueError):
        cv.cuda_min_driver("twelve")
    with pytest.raises(ValueError):
        cv.cuda_driver_support("12.4", "")


@pytest.mark.parametrize("cc, arch", [("9.0", "Hopper"), ("7.5", "Turing"), ("8.6", "Ampere"), ("8.9", "Ada Lovelace"),
                                      ("6.1", "Pascal"), ("12.0", "Blackwell"), ("10.0", "Blackwell"), (None, None)])
def test_architecture_from_compute_capability(cc, arch):
    assert cv.architecture(cc) == arch


@pytest.mark.parametrize("branch, arch, flavour, ok", [
    ("580", "Hopper", "open", True),
    ("580", "Pascal", "proprietary", True),
    ("590", "Pascal", "proprietary", False),
    ("580", "Pascal", "open", False),
    ("570", "Blackwell", "proprietary", False),
    ("570", "Blackwell", "open", True),
    ("535", "Kepler", "proprietary", False),
])
def test_branch_supports(branch, arch, flavour, ok):
    assert cv.branch_supports(branch, arch, flavour)[0] is ok


def test_cuda_from_driver_api():
    assert cv.cuda_from_driver_api(13000) == "13.0"
    assert cv.cuda_from_driver_api(12080) == "12.8"
