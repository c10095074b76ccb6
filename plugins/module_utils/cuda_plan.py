# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cuda and cudnn roles must do on a host, decided on the controller from ansible_facts.gpu.

Pure functions, exposed as filters: on a converged host they return empty
plans, and the roles skip every install task without running a module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")


def series(version):
    return ".".join(str(version).split(".")[:2])


def _matches(requested, installed):
    """X.Y is met by any X.Y.*; X.Y.Z only by itself."""
    if not installed:
        return False
    requested = str(requested)
    if requested.count(".") == 1:
        return series(installed) == requested
    return str(installed) == requested


def cuda_preflight(requested, default, driver=None, allow_unsupported=False):
    """{'errors': [...], 'warnings': [...]} for a toolkit list against a driver version (None: unknown)."""
    errors, warnings = [], []
    seen = {}
    for version in requested or []:
        version = str(version)
        if not _VERSION_RE.match(version):
            errors.append("cuda_toolkits: %r is not X.Y or X.Y.Z (for example \"12.8\" or \"12.8.1\")" % version)
            continue
        if series(version) in seen:
            errors.append("cuda_toolkits lists CUDA %s twice (%s and %s): keep one" % (
                series(version), seen[series(version)], version))
        seen[series(version)] = version
        if not driver:
            continue
        try:
            support = cuda_versions.cuda_driver_support(version, driver)
            minimum = cuda_versions.cuda_min_driver(version)
        except ValueError:
            warnings.append("CUDA %s is not in the collection's version table; its driver needs are not checked"
                            % version)
            continue
        if support == "unsupported" and not allow_unsupported:
            errors.append("CUDA %s needs driver %s or newer (minor-version compatibility: %s); this host has %s. "
                          "Upgrade the driver, drop CUDA %s, or set cuda_allow_unsupported_driver: true" % (
                              version, minimum, cuda_versions.minor_compat_floor(version) or "none", driver,
                              version))
        elif support == "unsupported":
            warnings.append("CUDA %s needs driver %s; this host has %s (allowed by cuda_allow_unsupported_driver)"
                            % (version, minimum, driver))
        elif support == "minor-compat":
            warnings.append("CUDA %s runs on driver %s only through minor-version compatibility (full support "
                            "from %s): PTX JIT and some newer APIs will fail" % (version, driver, minimum))
    if requested and not driver:
        warnings.append("no NVIDIA driver found on this host: toolkit support is not checked "
                        "(set cuda_target_driver when building an image for a known driver)")
    if default and series(default) not in seen:
        errors.append("cuda_default %s is not in cuda_toolkits (%s): add it or pick one of them" % (
            default, ", ".join(seen) or "empty"))
    return {"errors": errors, "warnings": warnings}


def cuda_toolkit_plan(requested, toolkits, components=(), by_toolkit=None, optional=(), platform="linux-x86_64",
                      default=None, prune=False):
    """{'install': [requests], 'remove': [series], 'conflicts': [messages]} from gpu_facts toolkits.

    Each install request is {version, components, optional, platform}: the
    components are by_toolkit[X.Y] when given, else the profile's. A toolkit
    this collection installed is kept when its version meets the request and it
    has every component asked for. One installed by something else (a package,
    a runfile) meets a request of its X.Y and is never touched.
    """
    by_series = dict((t.get("series"), t) for t in toolkits or [])
    by_toolkit = by_toolkit or {}
    install, conflicts = [], []
    wanted_series = set()
    for version in requested or []:
        version = str(version)
        wanted_series.add(series(version))
        wanted = list(by_toolkit.get(series(version)) or components or ())
        have = by_series.get(series(version))
        request = {"version": version, "components": wanted,
                   "optional": [] if series(version) in by_toolkit else list(optional or ()), "platform": platform}
        if have and have.get("managed"):
            if not (_matches(version, have.get("version")) and set(wanted) <= set(have.get("components") or {})):
                install.append(request)
        elif have and have.get("version"):
            if not _matches(version, have.get("version")):
                conflicts.append("%s holds CUDA %s installed by something else (a package or a runfile), not %s: "
                                 "remove it or ask for %s" % (have["path"], have["version"], version,
                                                              series(version)))
        else:
            install.append(request)
    remove = []
    if prune:
        keep = series(default) if default else None
        remove = sorted(s for s, t in by_series.items()
                        if t.get("managed") and s not in wanted_series and s != keep)
    return {"install": install, "install_series": [series(r["version"]) for r in install], "remove": remove,
            "conflicts": conflicts}


def cudnn_for(toolkit_series, cudnn_versions):
    """The cuDNN release wanted in a toolkit: a key X.Y wins over a key X (the CUDA major)."""
    cudnn_versions = cudnn_versions or {}
    wanted = cudnn_versions.get(toolkit_series) or cudnn_versions.get(toolkit_series.split(".")[0])
    return str(wanted) if wanted else None


def cudnn_plan(toolkits, cudnn_versions, platform="linux-x86_64"):
    """[{toolkit, series, cuda_major, version, platform}] for the toolkits whose cuDNN differs from the wish."""
    todo = []
    for toolkit in toolkits or []:
        wanted = cudnn_for(toolkit.get("series") or "", cudnn_versions)
        if not wanted:
            continue
        if _matches(wanted, (toolkit.get("cudnn") or {}).get("version")):
            continue
        todo.append({"toolkit": toolkit["path"], "series": toolkit["series"],
                     "cuda_major": toolkit["series"].split(".")[0], "version": wanted,
                     "platform": platform})
    return todo
