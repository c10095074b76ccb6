# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the nvidia_driver role installs, pins and checks, decided on the controller: plan() (the filter
nvidia_driver_plan) and the functions it is made of."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions, machines, rpm

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


# NVIDIA's repository keys, as NVIDIA publishes them per package manager (nvidia_driver_repo_key_* override).
REPO_KEYS = {
    "apt": {"file": "3bf863cc.pub", "fingerprint": "EB693B3035CD5710E231E123A4B469963BF863CC"},
    "dnf": {"file": "D42D0685.pub", "fingerprint": "610C7B14E068A878070DA4E99CD0A493D42D0685"},
}
# The branch each Debian release ships in non-free (method distro, no branch asked for).
DEBIAN_BRANCHES = {"12": "535", "13": "550"}
_BRANCH_RE = re.compile(r"[0-9]*\Z")
# ubuntu2404/x86_64, debian12/sbsa, rhel9/x86_64: a name with its release, and the machine.
_REPO_DIR_RE = re.compile(r"[a-z]+[0-9]+/[a-z0-9_]+\Z")
_VERSION_RE = re.compile(r"([0-9]+\.[0-9]+(\.[0-9]+)?)?\Z")


def _system_errors(host, settings):
    family, major = host.get("os_family"), str(host.get("distribution_major_version") or "")
    errors = []
    if not (family == "Debian" or (family == "RedHat" and major in ("8", "9"))):
        errors.append("the nvidia_driver role supports Debian, Ubuntu and the RHEL family 8 and 9 (dnf module "
                      "streams); this host runs %s %s" % (host.get("distribution"), major))
    if settings.get("method") not in ("distro", "nvidia_repo"):
        errors.append("nvidia_driver_method must be distro or nvidia_repo, not %s" % settings.get("method"))
    if not _BRANCH_RE.match(str(settings.get("branch") or "")):
        errors.append("nvidia_driver_branch must be the branch number only (such as \"580\") or empty, not %s"
                      % json.dumps(str(settings.get("branch"))))
    if not _VERSION_RE.match(str(settings.get("version") or "")):
        errors.append("nvidia_driver_version must be digits X.Y or X.Y.Z (such as \"580.95.05\") or empty, not %s"
                      % json.dumps(str(settings.get("version"))))
    if settings.get("method") == "nvidia_repo" and not _REPO_DIR_RE.match(repo_dir(host)):
        errors.append("NVIDIA's repository has no folder for this host (%s %s on %s gives %s): set the distribution "
                      "in /etc/os-release right, or use nvidia_driver_method distro"
                      % (host.get("distribution"), host.get("distribution_version"), host.get("architecture"),
                         json.dumps(repo_dir(host))))
    return errors


def repo_dir(host):
    """NVIDIA's repository folder for the host: ubuntu2404/x86_64, debian12/x86_64, rhel9/sbsa..."""
    if host.get("os_family") == "RedHat":
        name = "rhel%s" % host.get("distribution_major_version")
    elif host.get("distribution") == "Ubuntu":
        name = "ubuntu%s" % str(host.get("distribution_version") or "").replace(".", "")
    else:
        name = "%s%s" % (str(host.get("distribution") or "").lower(), host.get("distribution_major_version"))
    return "%s/%s" % (name, machines.names(host.get("architecture"))["repo"])


def _intent(gpu, plan, settings):
    kernel = gpu.get("kernel") or {}
    if plan["leave_running"]:
        return ("Driver %s (%s) runs and is the one asked for; it was not installed from packages, so it is left as "
                "it is." % (kernel.get("version"), kernel.get("flavour")))
    if plan["running_matches"]:
        return "Driver %s (%s) runs and is the one asked for; its packages are kept pinned and held." % (
            kernel.get("version"), kernel.get("flavour"))
    text = "Branch %s (%s) from %s: %s" % (
        plan["branch"], settings.get("flavour") if settings.get("kernel", True) else "userspace only",
        settings.get("method"), ", ".join(plan["packages"]["install"]))
    if kernel.get("loaded"):
        busy = ("busy: " + ", ".join(plan["processes"])) if gpu.get("busy") else "idle"
        then = "reload of the modules, else a reboot" if settings.get("reboot") else \
            "reload of the modules, else reboot_required reported"
        text += ", replacing the loaded %s (%s); GPUs %s; then %s" % (
            kernel.get("version"), kernel.get("flavour"), busy, then)
    return text + "."


def plan(gpu, settings, host, reports=None):
    """The nvidia_driver role's decision for one host, in one place.

    gpu: the gpu_facts probe. settings: the role's variables without their prefix (method, package_manager, branch,
    version, flavour, kernel, server, persistenced, allow_busy, reboot, repo_key_file, repo_key_fingerprint).
    host: the facts (distribution, distribution_version, distribution_major_version, os_family, architecture,
    kernel). reports: what the host's package manager said so far, each None until read - installed (dpkg-query's
    or rpm's answer for the packages), madison (apt-cache madison), module_info (dnf module info nvidia-driver),
    predict (apt-get --simulate install).

    Returns the plan: errors (preflight), manager, branch, packages, repo_dir, repo_key, offer (what the sources
    offer, None until read), wanted_packages, install_specs, hold, installed_names, rpm, packaged,
    headers_missing, predicted_change, running_matches, leave_running, busy_change, stale, processes (on the GPUs),
    intent, initramfs.
    """
    gpu, settings, host, reports = gpu or {}, settings or {}, host or {}, reports or {}
    errors = _system_errors(host, settings)
    wanted_manager = settings.get("package_manager") or "auto"
    manager = wanted_manager if wanted_manager != "auto" else ("dnf" if host.get("os_family") == "RedHat" else "apt")
    version = str(settings.get("version") or "")
    branch = str(settings.get("branch") or "") or (version.split(".", 1)[0] if version else "") or (
        DEBIAN_BRANCHES.get(str(host.get("distribution_major_version")), "")
        if host.get("distribution") == "Debian" and settings.get("method") == "distro" else "")
    flavour, kernel = settings.get("flavour", "open"), settings.get("kernel", True)
    if _BRANCH_RE.match(str(settings.get("branch") or "")):  # else _system_errors said it already
        errors += nvidia_driver_preflight(gpu.get("gpus"), branch, flavour, kernel)
    try:
        packages = nvidia_driver_packages({
            "distribution": host.get("distribution"), "method": settings.get("method"),
            "family": "RedHat" if manager == "dnf" else host.get("os_family"), "branch": branch,
            "version": version, "flavour": flavour, "kernel": kernel, "server": settings.get("server"),
            "kernel_release": host.get("kernel"), "persistenced": settings.get("persistenced", True)})
    except ValueError:  # the system error above says it
        packages = {"install": [], "optional": [], "pin": [], "dkms": False, "specs": {}}
    first = (packages["install"] or [""])[0]

    installed_text = reports.get("installed")
    rpm_installed = rpm.installed(installed_text or "") if manager == "dnf" else {}
    if manager == "apt":
        names = [line.split("\t")[0] for line in (installed_text or "").splitlines() if line.endswith(" ok installed")]
    else:
        names = list(rpm_installed)
    if manager == "apt":
        offer = None if reports.get("madison") is None else branch_versions(reports["madison"], first, branch, version)
    else:
        offer = None if reports.get("module_info") is None else \
            stream_versions(reports["module_info"], packages.get("stream"), first, version)
    known = (offer or {}).get("known") or []
    wanted = packages["install"] + [p for p in packages["optional"] if p in known]
    if manager == "apt":
        predicted = bool(re.search(r"^Inst ", reports.get("predict") or "", re.M))
    else:
        predicted = bool(packages.get("stream")) and dnf_change_needed(
            rpm_installed, packages, (offer or {}).get("enabled"), version)
    matches = running_matches(gpu, branch, version, flavour, kernel)
    loaded = (gpu.get("kernel") or {})
    result = {
        "errors": errors, "manager": manager, "branch": branch, "packages": packages,
        "repo_dir": repo_dir(host),
        "repo_key": {"file": settings.get("repo_key_file") or REPO_KEYS[manager]["file"],
                     "fingerprint": settings.get("repo_key_fingerprint") or REPO_KEYS[manager]["fingerprint"]},
        "offer": offer, "wanted_packages": wanted,
        "install_specs": [packages["specs"][p] for p in wanted],
        "hold": [p for p in wanted if not re.match(r"(linux-headers|kernel-devel)-", p)],
        "installed_names": names, "rpm": rpm_installed, "packaged": bool(names),
        "headers_missing": [] if offer is None else [
            p for p in packages["install"] if p.startswith("linux-headers-") and p not in known and p not in names],
        "predicted_change": predicted, "running_matches": matches, "leave_running": matches and not names,
        "busy_change": bool(predicted and loaded.get("loaded") and gpu.get("busy")
                            and not settings.get("allow_busy")),
        "stale": bool(gpu.get("present") and kernel and (
            (gpu.get("driver") or {}).get("mismatch")
            or loaded.get("version") != (gpu.get("userspace") or {}).get("version"))),
        "processes": gpu_processes(gpu.get("gpus")),
        "initramfs": ["/usr/bin/dracut", "-f"] if host.get("os_family") == "RedHat"
        else ["/usr/sbin/update-initramfs", "-u"],
    }
    result["intent"] = _intent(gpu, result, settings)
    return result
