# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one version table: CUDA toolkit <-> driver, GPU architectures.

Sources (see tests/unit/fixtures/reference/README.md): Table 3 of the CUDA 13.2
Update 2 release notes (minimum Linux driver per toolkit release), NVIDIA's
minor-version compatibility floors, and NVIDIA's driver release notes for
which architectures each branch supports. Nothing else in the collection holds
a copy of these numbers: the modules, the filter plugins and every preflight
read them from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Toolkit release -> minimum Linux x86_64 driver for full support.
CUDA_MIN_DRIVER = {
    "13.2.2": "595.71.05",
    "13.2.1": "595.58.03",
    "13.2.0": "595.45.04",
    "13.1.1": "590.48.01",
    "13.1.0": "590.44.01",
    "13.0.2": "580.95.05",
    "13.0.1": "580.82.07",
    "13.0.0": "580.65.06",
    "12.9.1": "575.57.08",
    "12.9.0": "575.51.03",
    "12.8.1": "570.124.06",
    "12.8.0": "570.26",
    "12.6.3": "560.35.05",
    "12.6.2": "560.35.03",
    "12.6.1": "560.35.03",
    "12.6.0": "560.28.03",
    "12.5.1": "555.42.06",
    "12.5.0": "555.42.02",
    "12.4.1": "550.54.15",
    "12.4.0": "550.54.14",
    "12.3.2": "545.23.08",  # not listed in the table: the driver its runfile bundles
    "12.3.1": "545.23.08",
    "12.3.0": "545.23.06",
    "12.2.2": "535.104.05",
    "12.2.1": "535.86.09",
    "12.2.0": "535.54.03",
    "12.1.1": "530.30.02",
    "12.1.0": "530.30.02",
    "12.0.1": "525.85.12",
    "12.0.0": "525.60.13",
    "11.8.0": "520.61.05",
    "11.7.1": "515.48.07",
    "11.7.0": "515.43.04",
    "11.6.2": "510.47.03",
    "11.6.1": "510.47.03",
    "11.6.0": "510.39.01",
    "11.5.2": "495.29.05",
    "11.5.1": "495.29.05",
    "11.5.0": "495.29.05",
    "11.4.4": "470.82.01",
    "11.4.3": "470.82.01",
    "11.4.2": "470.57.02",
    "11.4.1": "470.57.02",
    "11.4.0": "470.42.01",
    "11.3.1": "465.19.01",
    "11.3.0": "465.19.01",
    "11.2.2": "460.32.03",
    "11.2.1": "460.32.03",
    "11.2.0": "460.27.03",
    "11.1.1": "455.32",
    "11.1.0": "455.23",
    "11.0.3": "450.51.06",
    "11.0.2": "450.51.05",
    "11.0.1": "450.36.06",
}

# Minor-version compatibility: a toolkit of this major runs (with limits, no
# new PTX JIT) on any driver from this floor on.
MINOR_COMPAT_FLOOR = {
    "13": "580",
    "12": "525.60.13",
    "11": "450.80.02",
}
MINOR_COMPAT_FLOOR_11_0 = "450.36.06"

# Compute capability major.minor -> architecture.
ARCHITECTURES = (
    ((3, 0), (3, 7), "Kepler"),
    ((5, 0), (5, 3), "Maxwell"),
    ((6, 0), (6, 2), "Pascal"),
    ((7, 0), (7, 2), "Volta"),
    ((7, 5), (7, 5), "Turing"),
    ((8, 0), (8, 7), "Ampere"),
    ((8, 9), (8, 9), "Ada Lovelace"),
    ((9, 0), (9, 0), "Hopper"),
    ((10, 0), (12, 9), "Blackwell"),
)
# NVML's nvmlDeviceArchitecture_t values.
NVML_ARCHITECTURES = {
    2: "Kepler", 3: "Maxwell", 4: "Pascal", 5: "Volta", 6: "Turing",
    7: "Ampere", 8: "Ada Lovelace", 9: "Hopper", 10: "Blackwell",
}
ARCH_ORDER = ["Kepler", "Maxwell", "Pascal", "Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell"]

# Driver branches: the last branch that supports an architecture.
LAST_BRANCH = {"Kepler": 470, "Maxwell": 580, "Pascal": 580, "Volta": 580}
# The open kernel modules need Turing or newer; Blackwell needs them.
OPEN_MIN_ARCH = "Turing"
OPEN_REQUIRED_ARCH = "Blackwell"


def version_tuple(version):
    """'580.95.05' -> (580, 95, 5); None or '' -> ()."""
    parts = []
    for part in str(version or "").strip().split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _normalize(cuda_version):
    parts = version_tuple(cuda_version)
    if len(parts) < 2:
        raise ValueError("CUDA version %r is not X.Y or X.Y.Z" % (cuda_version,))
    return parts


def known_releases(major_minor=None):
    releases = sorted(CUDA_MIN_DRIVER, key=version_tuple)
    if major_minor:
        prefix = ".".join(str(p) for p in version_tuple(major_minor)[:2]) + "."
        releases = [r for r in releases if r.startswith(prefix)]
    return releases


def cuda_min_driver(cuda_version):
    """Minimum driver for full support of a toolkit.

    X.Y means the GA release (X.Y.0). An X.Y.Z not in the table (a component
    version such as 12.4.131) takes the highest minimum of that X.Y, which is
    the safe answer.
    """
    parts = _normalize(cuda_version)
    key = "%d.%d.%d" % (parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
    if key in CUDA_MIN_DRIVER:
        return CUDA_MIN_DRIVER[key]
    same_minor = known_releases("%d.%d" % parts[:2])
    if not same_minor:
        raise ValueError("CUDA %s is not in the version table (known: %s)" % (
            cuda_version, ", ".join(sorted({".".join(r.split(".")[:2]) for r in CUDA_MIN_DRIVER},
                                           key=version_tuple))))
    return max((CUDA_MIN_DRIVER[r] for r in same_minor), key=version_tuple)


def minor_compat_floor(cuda_version):
    parts = _normalize(cuda_version)
    if parts[:2] == (11, 0):
        return MINOR_COMPAT_FLOOR_11_0
    return MINOR_COMPAT_FLOOR.get(str(parts[0]))


def cuda_driver_support(cuda_version, driver_version):
    """'full', 'minor-compat' or 'unsupported' for a toolkit on a driver."""
    driver = version_tuple(driver_version)
    if not driver:
        raise ValueError("driver version %r is not a version" % (driver_version,))
    if driver >= version_tuple(cuda_min_driver(cuda_version)):
        return "full"
    floor = minor_compat_floor(cuda_version)
    if floor and driver >= version_tuple(floor):
        return "minor-compat"
    return "unsupported"


def cuda_from_driver_api(value):
    """NVML/cuDriverGetVersion integer (13000) -> '13.0'."""
    value = int(value)
    return "%d.%d" % (value // 1000, (value % 1000) // 10)


def architecture(compute_capability=None, nvml_arch=None, name=None):
    """Architecture from NVML's enum, else the compute capability."""
    if nvml_arch in NVML_ARCHITECTURES:
        return NVML_ARCHITECTURES[nvml_arch]
    cc = version_tuple(compute_capability)
    if len(cc) >= 2:
        for low, high, arch in ARCHITECTURES:
            if low <= cc[:2] <= high:
                return arch
    return None


def branch_supports(branch, arch, flavour):
    """Whether a driver branch with a kernel-module flavour can drive an architecture.

    Returns (ok, reason). Unknown architectures are accepted with a reason.
    """
    branch = int(version_tuple(branch)[0])
    if arch not in ARCH_ORDER:
        return True, "architecture %s is not in the table; not checked" % (arch,)
    last = LAST_BRANCH.get(arch)
    if last is not None and branch > last:
        return False, "%s GPUs are supported up to the %d branch, not %d" % (arch, last, branch)
    rank = ARCH_ORDER.index(arch)
    if flavour == "open" and rank < ARCH_ORDER.index(OPEN_MIN_ARCH):
        return False, "the open kernel modules need Turing or newer; %s needs the proprietary ones" % arch
    if flavour != "open" and rank >= ARCH_ORDER.index(OPEN_REQUIRED_ARCH):
        return False, "%s GPUs need the open kernel modules" % arch
    return True, "ok"
