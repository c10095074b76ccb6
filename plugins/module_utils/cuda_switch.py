# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Point <prefix>/cuda (and <prefix>/cuda-X) at an installed toolkit, atomically.

Standard library only and free of Ansible imports: the cuda_select module uses
it, and the cuda role installs the same file on hosts as the `cuda-switch`
command, so both switch the same way.

A plain link is replaced by renaming a new link over it (rename(2)): readers
resolving <prefix>/cuda/... see the old or the new toolkit, never nothing.
A link that update-alternatives manages as the alternative ``cuda`` (or
``cuda-X`` for <prefix>/cuda-X), as ``update-alternatives --query`` reports it,
is switched with ``update-alternatives --set`` (which renames too), registering
the toolkit first when needed. Any other alternative is never touched: a link
that leads into the alternatives folder under another name is refused.

Every switch holds an exclusive flock(2) on LOCK_FILE from reading the links to
the last rename, so two switches at once (the module, cuda-switch, or
``flock /run/dlops-gpu/cuda-switch.lock ...`` in a root script) leave
<prefix>/cuda and <prefix>/cuda-X at the same toolkit. The lock lives in a
folder only root can write (created 0755 when missing; refused when it is a
link, or anyone else can write it), is opened without following links and must
be a regular file of the caller's uid, so no other user can redirect root's
open or hold every switch up; a lock held longer than the timeout (60 s by
default) fails with the pid that holds it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import errno
import glob
import json
import os
import re
import stat
import subprocess
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not a Linux host
    fcntl = None

_SERIES_RE = re.compile(r"^([0-9]+)\.([0-9]+)\Z")
_DIR_RE = re.compile(r"^cuda-([0-9]+)\.([0-9]+)$")
_VERSION_SOURCES = ("version.json", "bin/nvcc", "lib64/libcudart.so.*", "targets/*/lib/libcudart.so.*")
# Not /run/lock: a world-writable folder, where another user can plant the file (or a link) before root.
LOCK_DIR = "/run/dlops-gpu"
LOCK_FILE = LOCK_DIR + "/cuda-switch.lock"
LOCK_TIMEOUT = 60
ALTERNATIVES_DIR = "/etc/alternatives"
# update-alternatives' own folders by default; tests point these at a temporary tree.
ALTDIR = ALTERNATIVES_DIR
ADMINDIR = None

# One link to change: its path, the toolkit it must point at, what it points at now (the link's own target, or
# the alternative's value; None: missing), the update-alternatives name that manages it (None: a plain link)
# and that alternative's status (auto, manual).
Step = collections.namedtuple("Step", "link target current alternative status")


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


class Alternatives(object):
    """update-alternatives, for the names cuda and cuda-X only; altdir and admindir for tests (a temp tree)."""

    def __init__(self, binary="update-alternatives", altdir=None, admindir=None):
        self.binary = binary
        self.altdir = altdir or ALTDIR
        self.admindir = admindir or ADMINDIR

    def command(self, *args):
        cmd = [self.binary]
        if self.altdir != ALTERNATIVES_DIR:
            cmd += ["--altdir", self.altdir]
        if self.admindir:
            cmd += ["--admindir", self.admindir]
        return cmd + list(args)

    def query(self, name):
        """{'link', 'status', 'value', 'alternatives'} of the alternative ``name``; None when it is not registered."""
        try:
            proc = subprocess.Popen(self.command("--query", name), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError:
            return None  # no update-alternatives on this host: nothing is managed by it
        out = proc.communicate()[0].decode("utf-8", "replace")
        if proc.returncode != 0:
            return None
        return parse_query(out)

    def set(self, name, link, target):
        """Make ``target`` the manual choice of ``name``, registering it first when it is not an alternative."""
        info = self.query(name) or {"alternatives": []}
        if target not in info["alternatives"]:
            parts = _DIR_RE.match(os.path.basename(target)).groups()
            priority = str(int(parts[0]) * 10 + int(parts[1]))  # what NVIDIA's packages use
            run(self.command("--install", link, name, target, priority))
        run(self.command("--set", name, target))


def parse_query(text):
    """The fields of ``update-alternatives --query`` output that a switch needs."""
    info = {"name": None, "link": None, "status": None, "value": None, "alternatives": []}
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        value = value.strip()
        if key == "Name":
            info["name"] = value
        elif key == "Link":
            info["link"] = value
        elif key == "Status":
            info["status"] = value
        elif key == "Value":
            info["value"] = value if value and value != "none" else None
        elif key == "Alternative":
            info["alternatives"].append(value)
    return info


def _link_target(link):
    """Where the link ``link`` points, made absolute and normalised (not followed further)."""
    return os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link)))


def current_target(link):
    """What ``link`` leads to, resolved (None when missing)."""
    if not os.path.lexists(link):
        return None
    return os.path.realpath(link)


def _step(link, target, alternatives):
    """How ``link`` is switched, decided by the alternative's name (cuda, cuda-X), never by following links."""
    name = os.path.basename(link)
    if os.path.lexists(link) and not os.path.islink(link):
        raise SwitchError("%s is a real folder or file, not a link: move it aside (or into %s-X.Y), then switch; "
                          "nothing was changed" % (link, os.path.join(os.path.dirname(link), "cuda")))
    points_at = _link_target(link) if os.path.islink(link) else None
    altdir = os.path.normpath(alternatives.altdir)
    into_altdir = points_at is not None and os.path.dirname(points_at) == altdir
    info = alternatives.query(name)
    if info and info["link"] and os.path.normpath(info["link"]) == link:
        if points_at is not None and points_at != os.path.join(altdir, name):
            raise SwitchError("%s is the link of the update-alternatives name %s but points at %s, not %s: run "
                              "`update-alternatives --auto %s` to repair it, then switch; nothing was changed"
                              % (link, name, points_at, os.path.join(altdir, name), name))
        return Step(link, target, info["value"], name, info["status"])
    if into_altdir:
        other = os.path.basename(points_at)
        raise SwitchError("%s points at %s, which update-alternatives does not manage as %s (the only alternative "
                          "names cuda-switch changes are cuda and cuda-X): nothing was changed. Remove the link "
                          "(or `update-alternatives --remove-all %s` if %s is yours to drop), then switch"
                          % (link, points_at, name, other, other))
    return Step(link, target, points_at, None, None)


def plan(prefix, series, major_link=True, alternatives=None, pending=False):
    """The Steps that point <prefix>/cuda (and <prefix>/cuda-X) at <prefix>/cuda-<series>.

    pending: the toolkit is still to be installed (check mode, before the install that would make it), so the
    steps lead to where it will be."""
    if not _SERIES_RE.match(series or ""):
        raise SwitchError("version must be X.Y (such as 12.4), not %r" % (series,))
    alternatives = alternatives or Alternatives()
    prefix = os.path.normpath(prefix)
    toolkits = installed(prefix)
    if series not in toolkits and pending and not os.path.lexists(os.path.join(prefix, "cuda-" + series)):
        toolkits[series] = os.path.join(prefix, "cuda-" + series)
    if series not in toolkits:
        raise SwitchError("CUDA %s is not installed under %s (installed: %s)" % (
            series, prefix, ", ".join(sorted(toolkits, key=_key)) or "none"))
    target = toolkits[series]
    links = [os.path.join(prefix, "cuda")]
    if major_link:
        links.append(os.path.join(prefix, "cuda-" + series.split(".")[0]))
    return [_step(link, target, alternatives) for link in links]


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


def settled(current, target, alternative, status):
    """Whether a link needs no switch: it (or its alternative) points at the target itself, compared as written,
    not followed (a link reaching the toolkit through another link is redone), and an alternative is in manual
    mode. gpu_facts asks the same of what it reads (cuda_default.alternatives_manual)."""
    return (current is not None and os.path.normpath(current) == os.path.normpath(target)
            and (not alternative or status == "manual"))


def pending(steps):
    """The steps that are not settled()."""
    return [step for step in steps if not settled(step.current, step.target, step.alternative, step.status)]


def apply(steps, alternatives=None):
    """Carry out the steps that change something; returns the changed links. Call it under lock()."""
    alternatives = alternatives or Alternatives()
    changed = []
    for step in pending(steps):
        if step.alternative:
            alternatives.set(step.alternative, step.link, step.target)
        else:
            replace_link(step.link, step.target)
        changed.append(step.link)
    return changed


def _open_lock_folder(folder):
    """A descriptor of the lock's folder, made (0755) when missing: refused unless it is a real folder that only its
    owner, root or this user, can write."""
    try:
        os.mkdir(folder, 0o755)
    except OSError as exc:
        if exc.errno != errno.EEXIST:  # EEXIST: there already, or another switch made it just now
            raise SwitchError("cannot create the switch lock's folder %s: %s; nothing was changed"
                              % (folder, exc.strerror or exc))
    fix = ("remove it (`rm -r %s`: a switch makes it again, root-owned, mode 0755), then switch; nothing was changed"
           % folder)
    if os.path.islink(folder):
        raise SwitchError("the switch lock's folder %s is a symbolic link, not a folder: %s" % (folder, fix))
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SwitchError("the switch lock's folder %s cannot be opened as a folder (%s): %s"
                          % (folder, exc.strerror or exc, fix))
    info = os.fstat(fd)
    if info.st_uid not in (0, os.geteuid()) or info.st_mode & 0o022:
        os.close(fd)
        raise SwitchError("the switch lock's folder %s is owned by uid %d with mode %04o: it must be owned by root and "
                          "writable by root alone (anyone who can write there can block or redirect every switch): %s"
                          % (folder, info.st_uid, stat.S_IMODE(info.st_mode), fix))
    return fd


def _open_lock(path):
    folder, name = os.path.split(os.path.abspath(path))
    folder_fd = _open_lock_folder(folder)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK
    try:
        fd = os.open(name, flags, 0o600, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SwitchError("the switch lock %s is a symbolic link: a switch never follows it; remove it, then "
                              "switch; nothing was changed" % path)
        raise SwitchError("cannot open the switch lock %s: %s; nothing was changed" % (path, exc.strerror or exc))
    finally:
        os.close(folder_fd)
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file"
    elif info.st_uid != os.geteuid():
        problem = "is owned by uid %d, not by uid %d (the user switching): someone else made it" % (
            info.st_uid, os.geteuid())
    if problem:
        os.close(fd)
        raise SwitchError("the switch lock %s %s; remove it, then switch; nothing was changed" % (path, problem))
    if info.st_mode & 0o077:
        os.fchmod(fd, 0o600)  # flock needs only read access: nobody else may open it
    return fd, info


def lock_holders(info, proc_locks="/proc/locks"):
    """The pids that /proc/locks shows holding a lock on the file whose fstat is ``info`` (waiters left out)."""
    try:
        with open(proc_locks) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return []
    exact, same_inode = [], []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->":
            continue
        try:
            pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            device = (int(major, 16), int(minor, 16))
            inode = int(inode)
        except ValueError:
            continue
        if inode != info.st_ino or pid <= 0:
            continue
        # Some filesystems (overlayfs, btrfs) report another device in stat than in /proc/locks.
        (exact if device == (os.major(info.st_dev), os.minor(info.st_dev)) else same_inode).append(pid)
    return exact or (same_inode if len(set(same_inode)) == 1 else [])


def _describe_pid(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except (IOError, OSError):
        command = ""
    return "pid %d%s" % (pid, " (%s)" % (command[:120] + ("..." if len(command) > 120 else "")) if command else "")


@contextlib.contextmanager
def lock(path=None, timeout=None):
    """Hold the exclusive lock of every switch (flock(2) on ``path``, LOCK_FILE by default), waiting at most
    ``timeout`` seconds (LOCK_TIMEOUT by default) for a switch that holds it."""
    path = path or LOCK_FILE
    timeout = LOCK_TIMEOUT if timeout is None else timeout
    fd, info = _open_lock(path)
    try:
        if fcntl is not None:
            deadline, pause = time.time() + timeout, 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except (IOError, OSError) as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                        raise
                if time.time() >= deadline:
                    holders = lock_holders(info)
                    raise SwitchError(
                        "the switch lock %s is held by %s and was not released within %g s: another switch (the "
                        "cuda_select module, cuda-switch, or a script under `flock %s`) is running or hangs; wait for "
                        "it or stop it, then switch again; nothing was changed" % (
                            path, ", ".join(_describe_pid(pid) for pid in holders) if holders
                            else "another process (not found in /proc/locks)", timeout, path))
                time.sleep(min(pause, max(deadline - time.time(), 0)))
                pause = min(pause * 2, 0.02)
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def switch(prefix, series, major_link=True, alternatives=None, lock_file=None, lock_timeout=None):
    """Plan and apply under the lock: (steps as read under the lock, changed links).

    A switch that would be refused is refused before the lock file is even created.
    """
    alternatives = alternatives or Alternatives()
    plan(prefix, series, major_link, alternatives)
    with lock(lock_file, lock_timeout):
        steps = plan(prefix, series, major_link, alternatives)
        return steps, apply(steps, alternatives)


def describe(steps):
    """Text of what the links are, before and after, for diffs and messages."""
    before = "".join("%s -> %s%s\n" % (s.link, s.current, _mode(s, s.status)) for s in steps)
    after = "".join("%s -> %s%s\n" % (s.link, s.target, _mode(s, "manual")) for s in steps)
    return before, after


def _mode(step, status):
    return " (alternative %s, %s)" % (step.alternative, status) if step.alternative else ""


def main(argv=None):
    """cuda-switch [--prefix /usr/local] [--list] [X.Y]"""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog="cuda-switch", description="Point /usr/local/cuda at a CUDA toolkit.")
    parser.add_argument("version", nargs="?", help="X.Y of an installed toolkit")
    parser.add_argument("--prefix", default="/usr/local")
    parser.add_argument("--list", action="store_true", help="list installed toolkits and the default")
    parser.add_argument("--lock-file", default=LOCK_FILE, help="the lock every switch holds (default %(default)s)")
    parser.add_argument("--lock-timeout", type=float, default=LOCK_TIMEOUT,
                        help="seconds to wait for a switch that holds the lock (default %(default)s)")
    args = parser.parse_args(argv)
    if args.list or not args.version:
        default = current_target(os.path.join(args.prefix, "cuda"))
        for series, path in sorted(installed(args.prefix).items(), key=lambda kv: _key(kv[0])):
            sys.stdout.write("%s %-6s %s\n" % ("*" if default == os.path.realpath(path) else " ", series, path))
        return 0
    try:
        changed = switch(args.prefix, args.version, lock_file=args.lock_file, lock_timeout=args.lock_timeout)[1]
        if changed:
            subprocess.call(["ldconfig"])
    except (SwitchError, OSError) as exc:
        sys.stderr.write("cuda-switch: %s\n" % exc)
        return 1
    sys.stdout.write("CUDA %s is the default (%s)\n" % (
        args.version, ", ".join(changed) + " switched" if changed else "unchanged"))
    return 0
