#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: managed_files
short_description: Keep a set of small files at the given content and mode, in one pass
version_added: 0.1.0
description:
  - Compares every file of the set with the wanted content and mode and changes only those that differ, so a
    converged host costs one module execution where one template task per file would cost one each.
  - A file is written to a temporary file beside it and renamed into place, never rewritten in place
    (the collection's atomic_file helper). A path that is a symlink stays one; the file it points to is changed.
  - Missing parent folders are created, silently, with mode C(0755) (less what the umask removes), owned by the connecting user (root when
    become is used), not by I(owner) and I(group); their creation is not listed in RETURN or the diff. Create a
    folder that needs another mode or owner first (for example with C(ansible.builtin.file)).
  - A file with I(state=absent) is removed when present; a symlink is removed itself, never the file it points to.
  - Before anything is written, every file is checked - the same path listed twice, a mode that is not octal,
    an owner or group this host does not have, a read-only filesystem, an immutable or append-only file - and any
    failure stops the module with nothing changed. Check mode runs the same checks.
  - Check mode reports the same changes and the same diff as the real run, and changes nothing.
  - A file's content is given as it is, or as a template that is rendered on the controller before the module runs
    (the way the C(ansible.builtin.template) lookup renders it, from the role's C(templates/) folder), so that a
    role's plan can list its files without rendering them itself.
author:
  - dlops.gpu maintainers (@dlops)
options:
  files:
    description: The files of the set.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Where the file lives.
        type: path
        required: true
      content:
        description: What it holds, for I(state=present).
        type: str
        default: ""
      template:
        description:
          - A template to render into I(content) on the controller, found as the C(ansible.builtin.template) lookup
            finds it. Not with I(content).
        type: str
      template_vars:
        description: Variables for I(template) only, on top of the task's.
        type: dict
        default: {}
      mode:
        description:
          - Its permissions, as C(ansible.builtin.file) reads them - a string is octal (C("0644")); an integer is taken
            as the number it is (YAML reads C(0644) unquoted as 420, which is 0644 already; C(644) unquoted is not).
          - Only permission bits (up to C(07777)); symbolic modes (C(u=rw)) are refused, as a new file needs an
            absolute mode.
        type: raw
        default: "0644"
      state:
        description: C(present) or C(absent).
        type: str
        choices: [present, absent]
        default: present
  owner:
    description:
      - Owner (name or uid) of every file written (the connecting user when omitted).
      - A name or a numeric uid that this host's user database does not have is refused.
    type: str
  group:
    description:
      - Group (name or gid) of every file written (the connecting user's when omitted).
      - A name or a numeric gid that this host's group database does not have is refused.
    type: str
  ldconfig:
    description:
      - Run C(ldconfig) once after the set changed, for a set that holds a linker path
        (C(/etc/ld.so.conf.d/)). In check mode it is reported in RV(ldconfig), not run, so that the task predicts it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Write a profile script and a linker path
  dlops.gpu.managed_files:
    owner: root
    group: root
    files:
      - path: /etc/profile.d/example.sh
        content: "{{ lookup('ansible.builtin.template', 'example.sh.j2') }}"
      - path: /etc/ld.so.conf.d/example.conf
        content: "/opt/example/lib64\n"
      - path: /etc/example/modulefiles/example/1.0
        template: modulefile.j2
        template_vars:
          example_version: "1.0"
      - path: /etc/example/old.conf
        state: absent
"""

RETURN = r"""
written:
  description: The files written (or that would be, in check mode), content or mode.
  returned: always
  type: list
  elements: str
removed:
  description: The files removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
ldconfig:
  description: Whether C(ldconfig) ran (or would run, in check mode).
  returned: always
  type: bool
"""

import grp
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file

_OCTAL_RE = re.compile(r"^(0o)?[0-7]+\Z")


class ManagedFilesError(Exception):
    """A file of the set cannot be kept as asked; the message says which and why. Nothing was changed."""


def parse_mode(value, path="a file"):
    """The mode as an int, the way ansible.builtin.file reads it: a string is octal, an int is itself."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ManagedFilesError("%s: mode %r is not a mode: give an octal string such as \"0644\"; nothing was "
                                "changed" % (path, value))
    if isinstance(value, str):
        text = value.strip()
        if not _OCTAL_RE.match(text):
            raise ManagedFilesError("%s: mode %r is not an octal mode (symbolic modes are not taken here): give an "
                                    "octal string such as \"0644\"; nothing was changed" % (path, value))
        value = int(text, 8)
    if value < 0 or value != stat.S_IMODE(value):
        raise ManagedFilesError("%s: mode %r holds more than permission bits (0o%o is above 07777): give an octal "
                                "string such as \"0644\", quoted; nothing was changed" % (path, value, value))
    return value


def _lookup(kind, name):
    """The uid or gid of ``name`` (a name or a number), None when ``name`` is None."""
    if name is None or name == "":
        return None
    word = "user" if kind == "owner" else "group"
    if re.match(r"^[0-9]+\Z", str(name)):
        # A number must be an id this host knows too: a file owned by an unknown id goes to whoever gets it next.
        database, key = (pwd.getpwuid, int(name)) if kind == "owner" else (grp.getgrgid, int(name))
    else:
        database, key = (pwd.getpwnam, name) if kind == "owner" else (grp.getgrnam, name)
    try:
        entry = database(key)
    except (KeyError, OverflowError):
        if isinstance(key, int):
            raise ManagedFilesError("%s %r is a numeric %s id that no %s on this host has: create the %s first or "
                                    "name another one; nothing was changed" % (kind, name, word, word, word))
        raise ManagedFilesError("%s %r does not exist on this host: create the %s first or name another one; "
                                "nothing was changed" % (kind, name, word))
    return entry.pw_uid if kind == "owner" else entry.gr_gid


def owner_ids(owner, group):
    """(uid, gid) of the owner and group asked for (None where not asked), refused when the host lacks one."""
    return _lookup("owner", owner), _lookup("group", group)


def check_entries(files):
    """Refuse a set that would write a wrong file: relative paths, the same file twice, modes that are not modes."""
    seen = {}
    for entry in files:
        path = entry["path"]
        if not os.path.isabs(path):
            raise ManagedFilesError("%s: the path must be absolute; nothing was changed" % path)
        if entry["state"] == "present":
            entry["mode"] = parse_mode(entry["mode"], path)
        # The same file through two spellings (a/../b, or a link to it) counts once.
        key = os.path.realpath(path) if entry["state"] == "present" else os.path.normpath(path)
        for name in set([os.path.normpath(path), key]):
            if name in seen:
                raise ManagedFilesError("%s is listed twice in files (as %s and %s): keep one entry; nothing was "
                                        "changed" % (name, seen[name], path))
            seen[name] = path
    return files


def read(path):
    """The file's bytes, or None when there is no such regular file (a FIFO or a device is never opened)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def plan(files, reader=read):
    """What each file needs: a list of (entry, current bytes, action), action one of write, remove, mode, keep.

    With state absent, a path that is a symlink (even a dangling one) is removed: the link, not its target.
    """
    steps = []
    for entry in files:
        current = reader(entry["path"])
        if entry["state"] == "absent":
            action = "remove" if current is not None or os.path.islink(entry["path"]) else "keep"
        elif current != to_bytes(entry["content"]):
            action = "write"
        else:
            action = "mode"
        steps.append((entry, current, action))
    return steps


def attributes_wanted(path, mode, uid, gid):
    """{'mode': (before, after), 'owner': ..., 'group': ...} for what differs on the file ``path`` leads to."""
    st = os.stat(path)
    differs = {}
    if stat.S_IMODE(st.st_mode) != mode:
        differs["mode"] = (stat.S_IMODE(st.st_mode), mode)
    if uid is not None and st.st_uid != uid:
        differs["owner"] = (st.st_uid, uid)
    if gid is not None and st.st_gid != gid:
        differs["group"] = (st.st_gid, gid)
    return differs


def describe_attributes(differs, side):
    index = 0 if side == "before" else 1
    words = []
    for key in ("mode", "owner", "group"):
        if key in differs:
            value = differs[key][index]
            words.append("mode %04o" % value if key == "mode" else "%s %d" % (key, value))
    return "".join(word + "\n" for word in words)


def diff(entry, current, action):
    """The before/after of one file for Ansible's diff output."""
    path = entry["path"]
    if action == "remove" and os.path.islink(path):
        before = "symlink to %s\n" % os.readlink(path)
    else:
        before = to_text(current, errors="surrogate_or_strict") if current is not None else ""
    after = "" if action == "remove" else entry["content"]
    return dict(before=before, after=after, before_header=path, after_header=path)


def apply_attributes(path, differs):
    if "mode" in differs:
        os.chmod(path, differs["mode"][1])
    if "owner" in differs or "group" in differs:
        os.chown(path, differs.get("owner", (-1, -1))[1], differs.get("group", (-1, -1))[1])


def preflight(steps):
    """Raise FileWriteError for the first file that could not be changed; the same answer in check mode."""
    for entry, _current, action in steps:
        if action == "keep":
            continue
        if action == "remove":
            atomic_file.check_writable(os.path.abspath(entry["path"]))
        else:
            resolved = atomic_file.resolve(entry["path"])
            if os.path.lexists(resolved) and not stat.S_ISREG(os.lstat(resolved).st_mode):
                raise atomic_file.FileWriteError("%s is not a regular file (%s): move it aside, then run again; "
                                                 "nothing was changed" % (entry["path"], resolved))
            atomic_file.check_writable(resolved)


def keep(files, owner, group, check_mode):
    """Bring every file of the set to what is asked; returns (written, removed, diffs)."""
    check_entries(files)
    uid, gid = owner_ids(owner, group)
    steps = plan(files)
    preflight(steps)
    written, removed, diffs = [], [], []
    for entry, current, action in steps:
        path = entry["path"]
        if action == "keep":
            continue
        if action == "remove":
            removed.append(path)
            diffs.append(diff(entry, current, action))
            if not check_mode:
                atomic_file.remove(path)
            continue
        if action == "write":
            written.append(path)
            diffs.append(diff(entry, current, action))
            if not check_mode:
                def prepare(temp, _target):
                    if uid is not None or gid is not None:
                        os.chown(temp, -1 if uid is None else uid, -1 if gid is None else gid)
                atomic_file.write(path, to_bytes(entry["content"]), mode=entry["mode"], prepare=prepare)
            continue
        resolved = atomic_file.resolve(path)
        differs = attributes_wanted(resolved, entry["mode"], uid, gid)
        if differs:
            written.append(path)
            diffs.append(dict(before=describe_attributes(differs, "before"), after=describe_attributes(differs, "after"),
                              before_header=path, after_header=path))
            if not check_mode:
                apply_attributes(resolved, differs)
    return written, removed, diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", default=""),
                template=dict(type="str"),
                template_vars=dict(type="dict", default={}),
                mode=dict(type="raw", default="0644"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            )),
            owner=dict(type="str"),
            group=dict(type="str"),
            ldconfig=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    # The action plugin renders every template on the controller; one left means the module was called without it.
    unrendered = [entry["path"] for entry in module.params["files"] if entry.get("template") is not None]
    if unrendered:
        module.fail_json(msg="%s: a template is rendered by the dlops.gpu.managed_files action on the controller, "
                             "not on the host; nothing was changed" % ", ".join(unrendered))
    # Found before anything is written (in check mode too): a host without ldconfig fails with nothing changed.
    ldconfig_bin = module.params["ldconfig"] and module.get_bin_path("ldconfig", required=True)
    try:
        written, removed, diffs = keep(module.params["files"], module.params["owner"], module.params["group"],
                                       module.check_mode)
    except (ManagedFilesError, atomic_file.FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: %s; the files listed before it may have been changed" % (
            getattr(exc, "filename", None) or "a file", exc.strerror or exc))
    changed = bool(written or removed)
    ldconfig = changed and module.params["ldconfig"]
    if ldconfig and not module.check_mode:
        module.run_command([ldconfig_bin], check_rc=True)
    module.exit_json(changed=changed, written=written, removed=removed, ldconfig=ldconfig, diff=diffs)


if __name__ == "__main__":
    main()
