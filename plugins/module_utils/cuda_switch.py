# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Point <prefix>/cuda (and <prefix>/cuda-X) at an installed toolkit, atomically.

Standard library only and free of Ansible imports: the cuda_select module uses
it, and the cuda role installs the same file on hosts as the `cuda-switch`
command, so both switch the same way.

A plain link is replaced by renaming a new link over it (rename(2)): readers
resolving <prefix>/cuda/... see the old or the new toolkit, never nothing.
A link owned by update-alternatives is switched with `update-alternatives --set`
(which renames too), registering the toolkit first when needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import subprocess

_SERIES_RE = re.compile(r"^([0-9]+)\.([0-9]+)$")
_DIR_RE = re.compile(r"^cuda-([0-9]+)\.([0-9]+)$")
_VERSION_SOURCES = ("version.json", "bin/nvcc", "lib64/libcudart.so.*", "targets/*/lib/libcudart.so.*")


class SwitchError(Exception):
    pass


def toolkit_series(path):
    """The X.Y a toolkit folder holds, or None when it does not look installed.

    A folder counts when its version.json names a version of its own X.Y; one
    without version.json (some package installs) counts when it has nvcc or
    libcudart.
    """
    match = _DIR_RE.match(os.path.basename(path))
    if not match or os.path.islink(path) or not os.path.isdir(path):
        return None
    series = "%s.%s" % match.groups()
    try:
        with open(os.path.join(path, "version.json")) as handle:
            version = (json.load(handle).get("cuda") or {}).get("version", "")
        return series if version == series or version.startswith(series + ".") else None
    except (IOError, OSError, ValueError, AttributeError):
        pass
    for pattern in _VERSION_SOURCES[1:]:
        if glob.glob(os.path.join(path, pattern)):
            return series
    return None


def installed(prefix):
    found = {}
    for path in sorted(glob.glob(os.path.join(prefix, "cuda-*.*"))):
        series = toolkit_series(path)
        if series:
            found[series] = path
    return found


def alternatives_name(link):
    """The alternatives name owning ``link`` (cuda, cuda-13), or None."""
    if not os.path.islink(link):
        return None
    target = os.readlink(link)
    if not target.startswith("/etc/alternatives/"):
        return None
    name = os.path.basename(target)
    for admin in ("/var/lib/dpkg/alternatives", "/var/lib/alternatives"):
        if os.path.exists(os.path.join(admin, name)):
            return name
    return None


def current_target(link):
    """What ``link`` leads to, resolved (None when missing)."""
    if not os.path.lexists(link):
        return None
    return os.path.realpath(link)


def plan(prefix, series, major_link=True):
    """[(link, wanted target, current resolved target, alternatives name)]."""
    if not _SERIES_RE.match(series or ""):
        raise SwitchError("version must be X.Y (such as 12.4), not %r" % (series,))
    toolkits = installed(prefix)
    if series not in toolkits:
        raise SwitchError("CUDA %s is not installed under %s (installed: %s)" % (
            series, prefix, ", ".join(sorted(toolkits, key=_key)) or "none"))
    target = toolkits[series]
    links = [os.path.join(prefix, "cuda")]
    if major_link:
        links.append(os.path.join(prefix, "cuda-" + series.split(".")[0]))
    steps = []
    for link in links:
        if os.path.exists(link) and not os.path.islink(link):
            raise SwitchError("%s is a real folder, not a link: move it aside (or into %s-X.Y), then switch"
                              % (link, os.path.join(prefix, "cuda")))
        steps.append((link, target, current_target(link), alternatives_name(link)))
    return steps


def _key(series):
    return tuple(int(p) for p in series.split("."))


def replace_link(link, target):
    """Make ``link`` point at ``target`` with one rename(2)."""
    temp = "%s.dlops-%d" % (link, os.getpid())
    if os.path.lexists(temp):
        os.unlink(temp)
    os.symlink(target, temp)
    try:
        os.rename(temp, link)
    except OSError:
        os.unlink(temp)
        raise


def run(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SwitchError("%s failed: %s" % (" ".join(cmd), (err or out).decode("utf-8", "replace").strip()))
    return out.decode("utf-8", "replace")


def alternatives_set(name, link, target, update_alternatives="update-alternatives"):
    listed = subprocess.Popen([update_alternatives, "--list", name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE).communicate()[0].decode().split()
    if target not in listed:
        parts = _DIR_RE.match(os.path.basename(target)).groups()
        priority = str(int(parts[0]) * 10 + int(parts[1]))  # what NVIDIA's packages use
        run([update_alternatives, "--install", link, name, target, priority])
    run([update_alternatives, "--set", name, target])


def pending(steps):
    """The steps whose link does not lead to its target yet."""
    return [step for step in steps if step[2] != os.path.realpath(step[1])]


def apply(steps, update_alternatives="update-alternatives"):
    """Carry out the steps that change something; returns the changed links."""
    changed = []
    for link, target, _current, alt in pending(steps):
        if alt:
            alternatives_set(alt, link, target, update_alternatives)
        else:
            replace_link(link, target)
        changed.append(link)
    return changed


def describe(steps):
    """Text of what the links are, before and after, for diffs and messages."""
    before = "".join("%s -> %s\n" % (link, current) for link, _t, current, _a in steps)
    after = "".join("%s -> %s\n" % (link, target) for link, target, _c, _a in steps)
    return before, after


def main(argv=None):
    """cuda-switch [--prefix /usr/local] [--list] [X.Y]"""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog="cuda-switch", description="Point /usr/local/cuda at a CUDA toolkit.")
    parser.add_argument("version", nargs="?", help="X.Y of an installed toolkit")
    parser.add_argument("--prefix", default="/usr/local")
    parser.add_argument("--list", action="store_true", help="list installed toolkits and the default")
    args = parser.parse_args(argv)
    if args.list or not args.version:
        default = current_target(os.path.join(args.prefix, "cuda"))
        for series, path in sorted(installed(args.prefix).items(), key=lambda kv: _key(kv[0])):
            sys.stdout.write("%s %-6s %s\n" % ("*" if default == os.path.realpath(path) else " ", series, path))
        return 0
    try:
        steps = plan(args.prefix, args.version)
        changed = apply(steps)
        if changed:
            subprocess.call(["ldconfig"])
    except (SwitchError, OSError) as exc:
        sys.stderr.write("cuda-switch: %s\n" % exc)
        return 1
    sys.stdout.write("CUDA %s is the default (%s)\n" % (
        args.version, ", ".join(changed) + " switched" if changed else "unchanged"))
    return 0
