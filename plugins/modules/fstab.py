#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fstab
short_description: Tune /etc/fstab for data disks, noatime and a tmpfs /tmp, keeping every other line
version_added: 0.1.0
description:
  - Adds or updates the entries of data filesystems, named by C(UUID=) or C(LABEL=), with C(noatime),
    C(nofail) and a systemd device timeout, so that a missing data disk never blocks boot.
  - Sets C(noatime) on existing entries by changing only the options field of their line.
  - Writes a size-capped tmpfs entry for C(/tmp).
  - Every other line of the file stays byte for byte, line endings (CRLF) and bytes that are not UTF-8
    included; a line added takes the line ending of the file's first line. Lines are read as libmount reads
    them (an entry needs source, mount point and type; a lone CR is no line break).
  - Sources are resolved with C(blkid) and owners, groups and modes checked before anything is written; a
    read-only, immutable or append-only file fails before any backup or temporary file is made, in check
    mode too. The new file is checked with C(findmnt --verify --tab-file) and must add no error; the old file
    is backed up; the new one replaces it in one rename.
  - Creates mount points with the owner and mode asked and mounts what is asked to be mounted now.
  - The whole steady state is checked in one call, so a converged host costs one module execution.
author:
  - dlops.gpu maintainers (@dlops)
options:
  path:
    description:
      - The fstab file to edit. When it is a symlink, the link stays and the file it points to is changed (and
        backed up).
    type: path
    default: /etc/fstab
  mounts:
    description: Data filesystems.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description:
          - C(UUID=...), C(LABEL=...), C(PARTUUID=...) or C(PARTLABEL=...) of the filesystem, or the matching
            C(/dev/disk/by-uuid/...) (C(by-label), C(by-partuuid), C(by-partlabel)) path.
          - An existing entry that names the same filesystem another way (C(/dev/disk/by-uuid/X) for C(UUID=X),
            a UUID in other letter case) counts as the same entry.
        type: str
        required: true
      path:
        description:
          - Mount point, an absolute path other than C(/). C(/data/) and C(/data) are the same mount point; the
            same mount point twice in a request is refused. Blanks are written escaped (C(\\040)); control
            characters are refused.
        type: path
        required: true
      fstype:
        description:
          - Filesystem type, one word of C(a-z), C(0-9) and C(. _ + -); must match what C(blkid) reports for the
            device.
        type: str
        required: true
      opts:
        description:
          - Options besides C(noatime), C(nofail) and the device timeout, which are always added.
          - An option holding a blank, a newline, a control character or C(#), and an empty item, are refused.
        type: list
        elements: str
        default: [defaults]
      owner:
        description:
          - Owner of the mount point (the mounted filesystem's root once mounted). A user the host does not
            have is refused before anything changes.
        type: str
      group:
        description: Group of the mount point.
        type: str
      mode:
        description:
          - Mode of the mount point. A string is octal (C("0755")); an integer is taken as the number it is, as
            M(ansible.builtin.file) does (YAML C(01777) is 0o1777, but C(1777) unquoted is decimal 1777).
        type: raw
      mount:
        description: Mount it now (and remount to apply changed options). When false only the fstab changes.
        type: bool
        default: true
      dump:
        description: The dump field.
        type: int
        default: 0
      passno:
        description: The fsck pass field.
        type: int
        default: 2
  noatime:
    description: Mount points of existing entries whose options get C(noatime); only that field changes.
    type: list
    elements: path
    default: []
  remount_noatime:
    description: Remount the I(noatime) mount points with C(noatime) now, when they are mounted.
    type: bool
    default: true
  tmpfs:
    description: A tmpfs entry, typically for C(/tmp). Omit to leave tmpfs entries alone.
    type: dict
    suboptions:
      path:
        description: Mount point.
        type: path
        default: /tmp
      size:
        description:
          - Size cap, a percentage of RAM from C(1%) to C(100%) (C(10%)) or an absolute size (C(16G)), as the
            kernel's tmpfs takes it (a number with an optional C(k), C(m), C(g), C(t), C(p) or C(e)), never 0
            (which means no limit), without leading zeros or trailing characters.
        type: str
        required: true
      mode:
        description: Mode of the tmpfs root, read as for I(mounts[].mode).
        type: raw
        default: "1777"
      opts:
        description: Other options.
        type: list
        elements: str
        default: [nosuid, nodev]
      mount:
        description:
          - Mount it now. Mounting a tmpfs over a live C(/tmp) hides the files of running programs, so by
            default the entry takes effect at the next boot.
        type: bool
        default: false
  device_timeout:
    description: The C(x-systemd.device-timeout) given to data mounts, a systemd time span without blanks; empty to leave it out.
    type: str
    default: 10s
  backup:
    description: Keep a timestamped copy of the old file beside it (beside the link's target for a symlink) when it changes.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Mount the dataset disk with noatime and give /tmp a tmpfs
  dlops.gpu.fstab:
    mounts:
      - src: UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11
        path: /data
        fstype: ext4
        owner: root
        group: research
        mode: "2775"
    noatime:
      - /
    tmpfs:
      size: 10%
"""

RETURN = r"""
changes:
  description: The fstab lines added or changed, each with C(target), C(action) (add, replace, noatime) and C(line).
  returned: always
  type: list
  elements: dict
mounted:
  description: Mount points mounted or remounted by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
backup_file:
  description: The copy of the old file.
  returned: when the file changed and I(backup) is true
  type: str
filesystems:
  description: The filesystems C(blkid) saw, each with C(DEVNAME), C(UUID), C(LABEL), C(TYPE) when known.
  returned: always
  type: list
  elements: dict
"""

import grp
import os
import pwd
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import fstab


def blkid_filesystems(module):
    blkid = module.get_bin_path("blkid", required=True)
    # -c /dev/null: probe the devices, never trust a stale cache.
    rc, out, err = module.run_command([blkid, "-c", "/dev/null", "-o", "export"])
    if rc not in (0, 2):  # 2: no device found
        module.fail_json(msg="blkid failed: %s" % err.strip())
    filesystems = []
    current = {}
    for line in out.splitlines() + [""]:
        if not line.strip():
            if current:
                filesystems.append(current)
            current = {}
            continue
        key, _sep, value = line.partition("=")
        current[key] = re.sub(r"\\(.)", r"\1", value)  # -o export escapes blanks and quotes for the shell
    return filesystems


def resolve(src, filesystems):
    """The filesystem ``src`` names (UUID=, LABEL=, PARTUUID=, PARTLABEL= or /dev/disk/by-*), or None."""
    key, value = fstab.source_key(src)
    for fs in filesystems:
        if key in fs and fstab.source_key("%s=%s" % (key, fs[key])) == (key, value):
            return fs
    return None


def describe(filesystems):
    seen = ["%s (%s)" % (fs.get("DEVNAME", "?"), ", ".join(
        "%s=%s" % (k, fs[k]) for k in ("UUID", "LABEL", "TYPE") if k in fs)) for fs in filesystems]
    return "; ".join(seen) or "none"


def mountinfo():
    """Map mount point (normalised) -> (fstype, set of options, per-mount and super)."""
    return dict((fstab.normalize_target(point), state) for point, state in atomic_file.mounts().items())


def verify(module, path):
    findmnt = module.get_bin_path("findmnt", required=True)
    _rc, out, err = module.run_command([findmnt, "--verify", "--tab-file", path])
    return out + err


def preflight(params):
    """Every check a request needs before anything changes; returns the problems found."""
    problems = fstab.request_problems(params["mounts"], params["noatime"], params["tmpfs"], params["device_timeout"])
    unknown_users, unknown_groups = [], []
    for mount in params["mounts"]:
        if mount.get("owner") is not None and lookup(pwd.getpwnam, mount["owner"]) is None:
            unknown_users.append("%s (for %s)" % (mount["owner"], mount["path"]))
        if mount.get("group") is not None and lookup(grp.getgrnam, mount["group"]) is None:
            unknown_groups.append("%s (for %s)" % (mount["group"], mount["path"]))
    if unknown_users:
        problems.append("this host has no user %s: create it first or change owner" % ", ".join(unknown_users))
    if unknown_groups:
        problems.append("this host has no group %s: create it first or change group" % ", ".join(unknown_groups))
    return problems


def lookup(getter, name):
    try:
        return getter(name)
    except KeyError:
        return None


def ids(mount):
    uid = gid = -1
    if mount.get("owner") is not None:
        uid = pwd.getpwnam(mount["owner"]).pw_uid
    if mount.get("group") is not None:
        gid = grp.getgrnam(mount["group"]).gr_gid
    return uid, gid


def fix_mount_point(mount, apply):
    """Owner and mode of an existing mount point; returns whether they differ."""
    uid, gid = ids(mount)
    mode = fstab.parse_mode(mount.get("mode"))
    st = os.stat(mount["path"])
    differs = (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid) or (
        mode is not None and (st.st_mode & 0o7777) != mode)
    if differs and apply:
        os.chown(mount["path"], uid, gid)
        if mode is not None:
            os.chmod(mount["path"], mode)
    return differs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/fstab"),
            mounts=dict(type="list", elements="dict", default=[], options=dict(
                src=dict(type="str", required=True),
                path=dict(type="path", required=True),
                fstype=dict(type="str", required=True),
                opts=dict(type="list", elements="str", default=["defaults"]),
                owner=dict(type="str"),
                group=dict(type="str"),
                mode=dict(type="raw"),
                mount=dict(type="bool", default=True),
                dump=dict(type="int", default=0),
                passno=dict(type="int", default=2, no_log=False),
            )),
            noatime=dict(type="list", elements="path", default=[]),
            remount_noatime=dict(type="bool", default=True),
            tmpfs=dict(type="dict", options=dict(
                path=dict(type="path", default="/tmp"),
                size=dict(type="str", required=True),
                mode=dict(type="raw", default="1777"),
                opts=dict(type="list", elements="str", default=["nosuid", "nodev"]),
                mount=dict(type="bool", default=False),
            )),
            device_timeout=dict(type="str", default="10s"),
            backup=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    apply = not module.check_mode
    result = dict(changed=False, changes=[], mounted=[], filesystems=[])

    # Preflight: the request itself, then every source must name a filesystem this host has, of the type asked.
    problems = preflight(params)
    if problems:
        module.fail_json(msg="%s: %s; nothing was changed" % (path, fstab.display("; ".join(problems))), **result)
    filesystems = blkid_filesystems(module) if params["mounts"] else []
    result["filesystems"] = filesystems
    for mount in params["mounts"]:
        fs = resolve(mount["src"], filesystems)
        if fs is None:
            module.fail_json(
                msg="%s (for %s) matches no block device on this host; nothing was changed. "
                    "Filesystems seen: %s" % (mount["src"], mount["path"], describe(filesystems)),
                **result)
        if fs.get("TYPE") and fs["TYPE"] != mount["fstype"]:
            module.fail_json(
                msg="%s holds %s, not %s: set fstype to %s for %s; nothing was changed" % (
                    mount["src"], fs["TYPE"], mount["fstype"], fs["TYPE"], mount["path"]), **result)

    try:
        real = atomic_file.resolve(path)
        before = atomic_file.read(real)
    except atomic_file.FileWriteError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc, **result)
    try:
        after, changes = fstab.plan(before or b"", params["mounts"], params["noatime"], params["tmpfs"],
                                    params["device_timeout"], name=path)
    except fstab.FstabError as exc:
        module.fail_json(msg=fstab.display(str(exc)), **result)
    result["changes"] = [dict((k, fstab.display(v)) for k, v in change.items()) for change in changes]

    missing_points = []
    for mount in params["mounts"]:
        # The mount point gets an owner and a mode, and may be made: never through someone else's link.
        try:
            point = atomic_file.follow(mount["path"])
        except atomic_file.FileWriteError as exc:
            module.fail_json(msg="%s; nothing was changed" % exc, **result)
        if os.path.lexists(point) and not os.path.isdir(point):
            module.fail_json(msg="mount point %s is %s, not a folder: remove it or choose another path; nothing was "
                                 "changed" % (mount["path"], "a file" if os.path.isfile(point) else "not a folder"),
                             **result)
        if not os.path.lexists(point):
            if point != os.path.abspath(mount["path"]):
                module.fail_json(msg="mount point %s is a link to %s, which does not exist: make it or change the "
                                     "link; nothing was changed" % (mount["path"], point), **result)
            missing_points.append(mount["path"])
    if changes:
        try:
            atomic_file.check_writable(real)
        except atomic_file.FileWriteError as exc:
            module.fail_json(msg=str(exc), **result)
        fd, candidate = tempfile.mkstemp(prefix=".fstab.", dir=module.tmpdir)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(after)
            old_report = verify(module, real) if before else ""
            problems = fstab.new_verify_errors(old_report, verify(module, candidate), missing_points)
        finally:
            os.unlink(candidate)
        if problems:
            module.fail_json(msg="the new %s would not pass findmnt --verify; nothing was changed: %s"
                             % (path, "; ".join(problems)), **result)
        if apply:
            if params["backup"] and before is not None:
                result["backup_file"] = module.backup_local(real)
            try:
                atomic_file.write(path, after, mode=None if before is not None else 0o644)
            except atomic_file.FileWriteError as exc:
                if result.get("backup_file"):
                    os.unlink(result.pop("backup_file"))
                module.fail_json(msg=str(exc), **result)
        result["changed"] = True
        result["diff"] = dict(before=fstab.display(fstab.decode(before or b"")), after=fstab.display(fstab.decode(after)),
                              before_header=path, after_header=path)

    live = mountinfo()
    changed_targets = set(c["target"] for c in changes)
    wanted = []  # (mount point, action, extra option)
    for mount in params["mounts"]:
        target = fstab.normalize_target(mount["path"])
        if mount["path"] in missing_points:
            result["changed"] = True
            if apply:
                os.makedirs(mount["path"], 0o755)
        if mount["mount"]:
            action = fstab.mount_action(live.get(target), target in changed_targets, option="noatime")
            wanted.append((target, action, None))
    if params["remount_noatime"]:
        for target in params["noatime"]:
            target = fstab.normalize_target(target)
            if target in live:  # an entry that is not mounted now gets noatime when it is
                wanted.append((target, "remount" if "noatime" not in live[target][1] else None, "noatime"))
    tmpfs = params["tmpfs"]
    if tmpfs and tmpfs["mount"]:
        target = fstab.normalize_target(tmpfs["path"])
        wanted.append((target, fstab.mount_action(live.get(target), target in changed_targets, fstype="tmpfs"), None))
    for target, action, extra in wanted:
        if action:
            result["changed"] = True
            result["mounted"].append(target)
            if apply:
                run_mount(module, target, action, extra)

    # Owner and mode apply to the mounted filesystem's root, so they come last.
    for mount in params["mounts"]:
        if os.path.isdir(mount["path"]) and fix_mount_point(mount, apply):
            result["changed"] = True

    module.exit_json(**result)


def run_mount(module, target, action, extra=None):
    mount = module.get_bin_path("mount", required=True)
    if action == "mount":
        cmd = [mount, target]
    else:
        cmd = [mount, "-o", "remount" + ("," + extra if extra else ""), target]
    rc, _out, err = module.run_command(cmd)
    if rc != 0:
        module.fail_json(msg="%s of %s failed (/etc/fstab is already updated): %s" % (action, target, err.strip()),
                         cmd=cmd)


if __name__ == "__main__":
    main()
