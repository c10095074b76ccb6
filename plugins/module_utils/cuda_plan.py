# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cuda and cudnn roles must do on a host, decided on the controller from ansible_facts.gpu.

plan() is the cuda role's whole decision and cudnn_role_plan() the cudnn role's (the dlops.gpu.cuda_plan and
dlops.gpu.cudnn_plan filters): pure functions of the probe and the role's settings. On a converged host they
return empty plans, and the roles skip every install task without running a module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions
from ansible_collections.dlops.gpu.plugins.module_utils import machines
from ansible_collections.dlops.gpu.plugins.module_utils import paths

# Components of each profile, and those taken only where the release has them (split out in CUDA 13).
_RUNTIME = ("cuda_cudart", "cuda_nvrtc", "libcublas", "libcufft", "libcurand", "libcusolver", "libcusparse",
            "libnvjitlink")
PROFILES = {
    "runtime": (_RUNTIME, ()),
    "devel": (_RUNTIME + ("cuda_nvcc", "cuda_cccl", "cuda_cupti", "cuda_nvtx", "cuda_profiler_api", "cuda_nvml_dev",
                          "cuda_cuobjdump", "cuda_nvdisasm", "cuda_nvprune", "cuda_cuxxfilt"),
              ("cuda_crt", "libnvvm")),
}
LD_CONF = "/etc/ld.so.conf.d/dlops-cuda.conf"
PROFILE_SCRIPT = "/etc/profile.d/dlops-cuda.sh"

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?\Z")


_COMPONENT_RE = re.compile(r"^[a-z0-9_]+\Z")
_CUDNN_KEY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?\Z")
_SERIES_RE = re.compile(r"^[0-9]+\.[0-9]+\Z")
# Role variables by what they must be.
SETTING_KINDS = {
    "cuda_prefix": "path", "cuda_modulefiles_dir": "path", "cuda_switch_command": "path", "cuda_archive_dir": "path",
    "cudnn_archive_dir": "path",
    "cuda_toolkits": "versions", "cuda_default": "version_or_empty", "cuda_components": "components",
    "cuda_components_by_toolkit": "components_by_toolkit", "cudnn_versions": "cudnn_versions",
}


def _shown(value):
    """The value as the operator wrote it in YAML, escaped: never a Python class name."""
    if isinstance(value, str):
        return '"%s"' % value.encode("unicode_escape").decode("ascii").replace('"', '\\"')  # a YAML "..." string
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    try:
        text = json.dumps(value, default=str, ensure_ascii=True)
    except (TypeError, ValueError):
        text = "..."
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value):
    """What the value is, in YAML words (Ansible hands over str, dict and list subclasses with internal names)."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "empty (null)"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "another kind of value"


def _spaces(items, pattern):
    """'; remove the space(s) ...' for strings that would be valid but for whitespace around them."""
    spaced = [item for item in items if isinstance(item, str) and item != item.strip() and pattern.match(item.strip())]
    if not spaced:
        return ""
    return "; %s %s a space or newline before or after %s: remove it" % (
        ", ".join(_shown(item) for item in spaced), "has" if len(spaced) == 1 else "have",
        "it" if len(spaced) == 1 else "them")


def _version_hint(value, pattern, what, example):
    """What is wrong with a version (or key) that is not ``what``, and how to write it, as YAML."""
    if isinstance(value, str) and value != value.strip() and pattern.match(value.strip()):
        return "has a space or newline before or after it: remove it, for example %s" % example
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "is a number: write it quoted, for example %s" % example
    return "is not %s%s: for example %s" % (what, "" if isinstance(value, str) else " (it is %s)" % _kind(value), example)


def _path_error(name, value):
    if not paths.plain(value):
        return ("%s: %s is not a plain absolute path: it is written into shell scripts, modulefiles and ld.so.conf, so "
                "use only letters, digits and . _ + - between slashes (no spaces, quotes, $, `, ;, \\, braces, "
                "newlines, .. or a trailing /), for example /usr/local" % (name, _shown(value)))
    return None


def _list_error(name, value, example):
    if isinstance(value, (list, tuple)):
        return None
    return ("%s must be a list, not %s %s: write it as a YAML list, for example %s"
            % (name, _kind(value), _shown(value), example))


def settings_errors(settings):
    """Messages for role variables (name -> value) that would write a wrong or unsafe file; [] when all are fine.

    One message per variable: a string where a list belongs is one error, not one per character.
    """
    errors = []
    for name in sorted(settings):
        value, kind = settings[name], SETTING_KINDS.get(name)
        if kind == "path":
            error = _path_error(name, value)
            if error:
                errors.append(error)
        elif kind in ("versions", "components"):
            error = _list_error(name, value, '%s: ["12.8", "13.0"]' % name if kind == "versions"
                                else "%s: [cuda_cudart, libcublas]" % name)
            if error:
                errors.append(error)
                continue
            pattern = _VERSION_RE if kind == "versions" else _COMPONENT_RE
            bad = [item for item in value if not isinstance(item, str) or not pattern.match(item)]
            if bad:
                errors.append("%s: %s %s: each must be %s%s" % (
                    name, ", ".join(_shown(item) for item in bad), "is not valid" if len(bad) == 1 else "are not valid",
                    'X.Y or X.Y.Z digits, quoted ("12.8", "12.8.1")' if kind == "versions"
                    else "a redist component name (lower-case letters, digits, _), such as cuda_cudart",
                    _spaces(bad, pattern)))
        elif kind == "version_or_empty":
            if value not in ("", None) and (not isinstance(value, str) or not _VERSION_RE.match(value)):
                errors.append("%s: %s %s" % (name, _shown(value), _version_hint(
                    value, _VERSION_RE, "X.Y or X.Y.Z digits", '%s: "12.8"' % name)))
        elif kind in ("components_by_toolkit", "cudnn_versions"):
            example = ('%s: {"13.0": [cuda_cudart, cuda_nvcc]}' if kind == "components_by_toolkit"
                       else '%s: {"12": "9.13"}') % name
            if not isinstance(value, dict):
                errors.append("%s must be a mapping, not %s %s: write it as a YAML mapping, for example %s"
                              % (name, _kind(value), _shown(value), example))
                continue
            for key in sorted(value, key=str):
                item = value[key]
                key_example = _shown(key.strip() if isinstance(key, str) else str(key))
                if kind == "cudnn_versions":
                    if not isinstance(key, str) or not _CUDNN_KEY_RE.match(key):
                        errors.append("%s: key %s %s" % (name, _shown(key), _version_hint(
                            key, _CUDNN_KEY_RE, "a CUDA major or X.Y", '%s: {"12": "9.13", "12.8": "9.10.2"}' % name)))
                    if not isinstance(item, str) or not _VERSION_RE.match(item):
                        errors.append("%s: %s: %s %s" % (name, _shown(key), _shown(item), _version_hint(
                            item, _VERSION_RE, "a cuDNN release X.Y or X.Y.Z", '%s: {%s: "9.13"}' % (name, key_example))))
                    continue
                if not isinstance(key, str) or not _SERIES_RE.match(key):
                    errors.append("%s: key %s %s" % (name, _shown(key), _version_hint(
                        key, _SERIES_RE, "a toolkit X.Y", '%s: {"12.8": [cuda_cudart]}' % name)))
                where = "%s: %s" % (name, _shown(key))
                sub = _list_error(where, item, "%s: {%s: [cuda_cudart]}" % (name, key_example))
                if sub:
                    errors.append(sub)
                    continue
                bad = [c for c in item if not isinstance(c, str) or not _COMPONENT_RE.match(c)]
                if bad:
                    errors.append("%s: %s: each must be a redist component name (lower-case letters, digits, _)%s"
                                  % (where, ", ".join(_shown(c) for c in bad), _spaces(bad, _COMPONENT_RE)))
    return errors


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
    install_series = [series(r["version"]) for r in install]
    # The toolkits there once the plan is carried out (their modulefiles), as the probe after it will see them.
    after = sorted((set(by_series) - set(remove)) | set(install_series), key=lambda s: tuple(map(int, s.split("."))))
    return {"install": install, "install_series": install_series, "remove": remove, "conflicts": conflicts,
            "after_series": after}


def cudnn_for(toolkit_series, cudnn_versions):
    """The cuDNN release wanted in a toolkit: a key X.Y wins over a key X (the CUDA major)."""
    cudnn_versions = cudnn_versions or {}
    wanted = cudnn_versions.get(toolkit_series) or cudnn_versions.get(toolkit_series.split(".")[0])
    return str(wanted) if wanted else None


def cudnn_plan(toolkits, cudnn_versions, platform="linux-x86_64", pending=(), prefix="/usr/local"):
    """[{toolkit, series, cuda_major, version, platform, pending}] for the toolkits whose cuDNN differs from the wish.

    pending: the X.Y of toolkits that an earlier step of the run installs under prefix and the probe does not show
    yet (check mode): they are planned as toolkits without cuDNN, marked pending."""
    todo = []
    toolkits = list(toolkits or [])
    probed = set(t.get("series") for t in toolkits)
    toolkits += [{"series": s, "path": "%s/cuda-%s" % (prefix.rstrip("/"), s), "pending": True}
                 for s in sorted(set(pending or ())) if s not in probed]
    for toolkit in toolkits:
        wanted = cudnn_for(toolkit.get("series") or "", cudnn_versions)
        if not wanted:
            continue
        if _matches(wanted, (toolkit.get("cudnn") or {}).get("version")):
            continue
        todo.append({"toolkit": toolkit["path"], "series": toolkit["series"],
                     "cuda_major": toolkit["series"].split(".")[0], "version": wanted,
                     "platform": platform, "pending": bool(toolkit.get("pending"))})
    return todo


def _series_key(value):
    return tuple(int(part) for part in value.split("."))


def package_names(toolkits, profile):
    """NVIDIA's apt packages for the toolkits: cuda-libraries-X-Y (runtime) or cuda-toolkit-X-Y (devel), with
    "=X.Y.Z*" for an exact release."""
    names = []
    for version in toolkits:
        parts = str(version).split(".")
        names.append("%s%s-%s%s" % ("cuda-toolkit-" if profile == "devel" else "cuda-libraries-", parts[0], parts[1],
                                    "=%s*" % version if len(parts) > 2 else ""))
    return names


def environment_files(settings, after_series, removed_series):
    """The files of the shell environment (written by dlops.gpu.managed_files, templates rendered there): the linker
    path, cuda-switch, the profile and a modulefile per toolkit while toolkits are listed, and the modulefiles of
    pruned toolkits taken away."""
    prefix, modulefiles_dir = settings["cuda_prefix"], settings["cuda_modulefiles_dir"]
    files = []
    if settings["cuda_toolkits"]:
        files.append({"path": LD_CONF, "mode": "0644",
                      "content": "# Managed by dlops.gpu: the default CUDA toolkit's libraries\n%s/cuda/lib64\n"
                                 % prefix})
        files.append({"path": settings["cuda_switch_command"], "mode": "0755", "template": "cuda-switch.j2"})
        if settings["cuda_profile_d"]:
            files.append({"path": PROFILE_SCRIPT, "mode": "0644", "template": "dlops-cuda.sh.j2"})
        if settings["cuda_modulefiles"]:
            files.extend({"path": "%s/cuda/%s" % (modulefiles_dir, s), "mode": "0644", "template": "modulefile.j2",
                          "template_vars": {"__cuda_series": s}} for s in after_series)
    files.extend({"path": "%s/cuda/%s" % (modulefiles_dir, s), "state": "absent"} for s in removed_series)
    return files


def _default_in_place(probe_default, prefix, default_series):
    """<prefix>/cuda and <prefix>/cuda-X lead to the default toolkit already. A link that update-alternatives owns
    counts only in manual mode at that toolkit (as cuda_select leaves it), since NVIDIA's packages move an
    alternative in auto mode whenever they install."""
    probe_default = probe_default or {}
    return (probe_default.get("path") == prefix + "/cuda"
            and (not probe_default.get("alternatives") or bool(probe_default.get("alternatives_manual")))
            and probe_default.get("series") == default_series and probe_default.get("major_series") == default_series)


def plan(probe, settings):
    """The cuda role's plan for one host, from ansible_facts.gpu and the role's variables (name -> value).

    errors: what stops the role before anything changes (the settings first: when they are wrong, nothing else is
    judged); warnings: toolkits the driver supports only in part. install/install_series/remove/after_series: as
    cuda_toolkit_plan. default_series, switch (the default link must move) and switch_pending (to a toolkit this run
    installs, not there yet in check mode). packages: for cuda_install_method package. files: the environment's.
    """
    result = {"errors": [], "warnings": [], "install": [], "install_series": [], "remove": [], "after_series": [],
              "conflicts": [], "default_series": "", "switch": False, "switch_pending": False, "packages": [],
              "files": [], "platform": None}
    result["errors"] = settings_errors(dict((name, settings[name]) for name in SETTING_KINDS if name in settings))
    if result["errors"]:
        return result
    probe = probe or {}
    toolkits, default, prefix = settings["cuda_toolkits"], settings["cuda_default"] or "", settings["cuda_prefix"]
    method, profile = settings["cuda_install_method"], settings["cuda_profile"]
    errors = result["errors"]
    if profile == "custom":
        components, optional = settings["cuda_components"], ()
        if not components:
            errors.append("cuda_profile is custom but cuda_components is empty: list the redist components")
    else:
        components, optional = PROFILES[profile]
    if method == "package" and profile not in PROFILES:
        errors.append("cuda_install_method package installs the runtime or devel profile; custom lists are for redist")
    platform = machines.redist_platform(probe.get("machine"))
    if platform is None and toolkits and method == "redist":
        errors.append("NVIDIA publishes no Linux redist archives for this host's machine %s: use "
                      "cuda_install_method package or drop cuda_toolkits here" % _shown(probe.get("machine")))
    driver = settings["cuda_target_driver"] or (probe.get("driver") or {}).get("version") or ""
    checks = cuda_preflight(toolkits, default, driver, settings["cuda_allow_unsupported_driver"])
    errors.extend(checks["errors"])
    result["warnings"] = checks["warnings"]
    todo = cuda_toolkit_plan(toolkits, probe.get("toolkits"), components, settings["cuda_components_by_toolkit"],
                             optional, platform or "linux-x86_64", default, settings["cuda_prune"])
    errors.extend(todo["conflicts"])
    result.update(todo, platform=platform)
    if errors:
        return result
    default_series = series(default) if default else ""
    if method == "redist":
        missing = todo["install_series"]
    else:
        probed = set(t.get("series") for t in probe.get("toolkits") or [])
        missing = sorted(set(series(v) for v in toolkits) - probed, key=_series_key)
        result["packages"] = package_names(toolkits, profile)
    result.update(
        default_series=default_series,
        switch=bool(default_series) and not _default_in_place(probe.get("cuda_default"), prefix, default_series),
        switch_pending=default_series in missing,
        files=environment_files(settings, todo["after_series"], todo["remove"]))
    return result


def cudnn_role_plan(probe, settings, pending=(), prefix="/usr/local"):
    """The cudnn role's plan for one host: {errors, todo (cudnn_plan's), requests (what redist_fetch fetches)}.

    settings: cudnn_versions and cudnn_archive_dir; pending and prefix as cudnn_plan takes them (the cuda role's
    toolkits still to install, its cuda_prefix)."""
    result = {"errors": settings_errors(dict((name, settings[name]) for name in ("cudnn_versions", "cudnn_archive_dir")
                                             if name in settings)), "todo": [], "requests": []}
    if result["errors"]:
        return result
    probe = probe or {}
    platform = machines.redist_platform(probe.get("machine"))
    todo = cudnn_plan(probe.get("toolkits"), settings["cudnn_versions"], platform or "linux-x86_64", pending, prefix)
    if todo and platform is None:
        result["errors"].append("NVIDIA publishes no Linux cuDNN archives for this host's machine %s: drop "
                                "cudnn_versions here" % _shown(probe.get("machine")))
        return result
    result["todo"] = todo
    requests = []
    for item in todo:
        request = {"version": item["version"], "cuda_major": item["cuda_major"], "platform": item["platform"]}
        if request not in requests:
            requests.append(request)
    result["requests"] = requests
    return result
