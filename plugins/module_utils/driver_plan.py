# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the nvidia_driver role installs, pins and checks, decided on the controller (exposed as filters)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions

# apt preferences: the driver's packages, pinned to the branch. Packages versioned otherwise (nvidia-kernel-common,
# linux-modules-nvidia-*, nvidia-container-toolkit) match no pinned version and keep their default priority.
PIN_GLOBS = ("nvidia-*", "libnvidia-*", "libcuda1", "libcudadebugger1", "xserver-xorg-video-nvidia*",
             "firmware-nvidia-*", "cuda-drivers*")


def install_specs(packages, branch, version=""):
    """{name: apt name} for the packages, those whose version is the driver's asked for at the branch (or version).

    Debian names its driver packages without the branch (nvidia-smi, libcuda1, nvidia-driver): "present" alone
    would keep another branch once installed, so they are asked for as name=<branch>.* (or name=<version>*), which
    apt installs, upgrading or downgrading, only when the installed version does not match. Kernel headers and
    the persistence daemon have versions of their own.
    """
    wanted = "%s*" % version if version else "%s.*" % branch
    return dict((name, name if name.startswith("linux-") or name == "nvidia-persistenced" else "%s=%s" % (name, wanted))
                for name in packages)


def nvidia_driver_packages(spec):
    """{install, optional, specs, pin, dkms} for {distribution, method, branch, version, flavour, kernel, server,
    kernel_release}; specs maps each package to what apt is asked for (see install_specs)."""
    distribution = spec.get("distribution")
    method = spec.get("method", "distro")
    branch = str(spec.get("branch") or "")
    open_module = spec.get("flavour", "open") == "open"
    kernel = spec.get("kernel", True)
    release = spec.get("kernel_release") or ""
    install, optional = [], []
    dkms = False
    if spec.get("family") == "RedHat":
        return dnf_packages(branch, open_module, kernel, release, spec)
    if distribution == "Debian":
        if not kernel:
            install = ["nvidia-smi", "libcuda1", "libnvidia-ml1"]
        else:
            dkms = True
            if method == "nvidia_repo":
                install = ["nvidia-open-%s" % branch if open_module else "cuda-drivers-%s" % branch]
            else:
                install = ["nvidia-driver", "nvidia-open-kernel-dkms" if open_module else "nvidia-kernel-dkms"]
            install.append("linux-headers-%s" % release)
    elif distribution == "Ubuntu":
        server = "-server" if spec.get("server") and method == "distro" else ""
        flavour = "-open" if open_module else ""
        if not kernel:
            install = ["libnvidia-compute-%s%s" % (branch, server), "nvidia-utils-%s%s" % (branch, server)]
        elif method == "nvidia_repo":
            dkms = True
            install = ["nvidia-open-%s" % branch if open_module else "cuda-drivers-%s" % branch,
                       "linux-headers-%s" % release]
        else:
            install = ["nvidia-driver-%s%s%s" % (branch, server, flavour)]
            # Canonical's signed prebuilt modules, where they exist for the running kernel; DKMS otherwise.
            optional = ["linux-modules-nvidia-%s%s%s-%s" % (branch, server, flavour, release)]
    else:
        raise ValueError("the nvidia_driver role knows Debian, Ubuntu and the RHEL family, not %s" % distribution)
    if kernel and spec.get("persistenced", True) and distribution == "Debian" and method == "distro":
        install.append("nvidia-persistenced")
    return {"install": install, "optional": optional, "pin": list(PIN_GLOBS), "dkms": dkms,
            "specs": install_specs(install + optional, branch, spec.get("version") or "")}


def dnf_packages(branch, open_module, kernel, release, spec):
    """The RHEL family 8 and 9: NVIDIA's dnf module nvidia-driver, stream <branch>-open or <branch>-dkms
    (proprietary), with the meta package NVIDIA names for each (nvidia-open, cuda-drivers) and the compute
    userspace; userspace only leaves out the meta package and the kernel headers.

    The stream keeps the packages on the branch. Each is asked for as name-<branch>.* (or name-<version>*) so
    that a stream change moves the installed ones too (dnf downgrades them when the branch is older).
    """
    install = ["nvidia-driver-cuda", "nvidia-driver-cuda-libs"]
    if kernel:
        install = ["nvidia-open" if open_module else "cuda-drivers"] + install + ["kernel-devel-%s" % release]
    wanted = "%s*" % spec["version"] if spec.get("version") else "%s.*" % branch
    specs = dict((name, name if name.startswith("kernel-") else "%s-%s" % (name, wanted)) for name in install)
    return {"install": install, "optional": [], "pin": [], "dkms": bool(kernel), "specs": specs,
            "stream": "%s-%s" % (branch, "open" if open_module else "dkms")}


def module_streams(info, name="nvidia-driver"):
    """From `dnf module info <name>`: {stream: [artifact NEVRAs]} over all its module versions, and the enabled
    stream (marked [e]) or None."""
    streams, enabled = {}, None
    for block in re.split(r"\n\s*\n", info or ""):
        fields, key = {}, None
        for line in block.splitlines():
            head, sep, value = line.partition(":")
            if not sep:
                continue
            key = head.strip() or key
            if key:
                fields.setdefault(key, []).append(value.strip())
        if fields.get("Name", [""])[0] != name or not fields.get("Stream"):
            continue
        stream = fields["Stream"][0].split()[0]
        artifacts = streams.setdefault(stream, [])
        artifacts.extend(a for a in fields.get("Artifacts", []) if a and a not in artifacts)
        if "[e]" in fields["Stream"][0]:
            enabled = stream
    return {"streams": streams, "enabled": enabled}


def stream_versions(info, stream, package, version=""):
    """{offered: streams, matching: versions of the package in the stream (and version), enabled: stream}."""
    parsed = module_streams(info)
    prefix = package + "-"
    versions = []
    for nevra in parsed["streams"].get(stream, []):
        if not nevra.startswith(prefix) or not nevra[len(prefix):][:1].isdigit():
            continue
        evr = nevra[len(prefix):].rsplit(".", 1)[0]
        plain = evr.split(":")[-1]
        if (not version or plain.startswith(version)) and evr not in versions:
            versions.append(evr)
    return {"offered": sorted(parsed["streams"]), "matching": versions, "enabled": parsed["enabled"]}


def dnf_change_needed(installed, packages, enabled, version=""):
    """Whether the host differs from what is asked: another stream enabled, or a package missing or of another
    branch (or version)."""
    branch = packages["stream"].split("-")[0]
    if enabled != packages["stream"]:
        return True
    for name in packages["install"]:
        evr = installed.get(name)
        if evr is None:
            return True
        plain = evr.split(":")[-1]
        if not name.startswith("kernel-") and (plain.split(".")[0] != branch or not plain.startswith(version)):
            return True
    return False


def nvidia_driver_preflight(gpus, branch, flavour, kernel=True):
    """Messages for what the GPUs cannot do with a branch and module flavour ([] when fine)."""
    errors = []
    if not re.match(r"^[0-9]{3}$", str(branch or "")):
        return ["nvidia_driver_branch %r is not a driver branch such as \"580\"" % (branch,)]
    for gpu in gpus or []:
        arch = gpu.get("architecture") or cuda_versions.architecture(gpu.get("compute_capability"))
        ok, reason = cuda_versions.branch_supports(branch, arch, flavour if kernel else "any")
        if not ok:
            errors.append("GPU %s (%s, %s) cannot use branch %s with the %s kernel module: %s" % (
                gpu.get("index"), gpu.get("name"), arch, branch, flavour, reason))
    return errors


def branch_versions(madison, package, branch, version=""):
    """From `apt-cache madison` output: the package's versions offered and those in the branch (and version)."""
    offered, known = [], []
    for line in (madison or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            continue
        if parts[0] not in known:
            known.append(parts[0])
        if parts[0] == package and parts[1] not in offered:
            offered.append(parts[1])
    matching = [v for v in offered if v.split(":")[-1].split(".")[0] == str(branch)]
    if version:
        matching = [v for v in matching if v.split(":")[-1].startswith(version)]
    return {"offered": offered, "matching": matching, "known": known}


def running_matches(gpu, branch, version="", flavour="open", kernel=True):
    """Whether the loaded driver already is the one asked for (branch, exact version, flavour) and healthy."""
    loaded = (gpu or {}).get("kernel") or {}
    driver = (gpu or {}).get("driver") or {}
    running = loaded.get("version") if loaded.get("loaded") else None
    if not running or driver.get("mismatch"):
        return False
    if running.split(".")[0] != str(branch) or (version and running != version):
        return False
    return not kernel or loaded.get("flavour") == flavour


def gpu_processes(gpus):
    """'GPU 0: pid 4242 python3 (1542 MiB)' for every compute process on the GPUs."""
    found = []
    for gpu in gpus or []:
        for process in gpu.get("processes") or []:
            memory = process.get("used_memory_mib")
            found.append("GPU %s: pid %s %s%s" % (gpu.get("index"), process.get("pid"), process.get("name") or "?",
                                                  " (%s MiB)" % memory if memory is not None else ""))
    return found
