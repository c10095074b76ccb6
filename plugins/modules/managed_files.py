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
  - A file is written to a temporary file beside it and renamed into place, never rewritten in place.
  - Missing parent folders are created with mode C(0755).
  - A file with I(state=absent) is removed when present.
  - Check mode reports the same changes and the same diff as the real run, and changes nothing.
  - The content is rendered beforehand, on the controller (for example with the C(ansible.builtin.template)
    lookup).
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
      mode:
        description: Its permissions, as an octal string.
        type: str
        default: "0644"
      state:
        description: C(present) or C(absent).
        type: str
        choices: [present, absent]
        default: present
  owner:
    description: Owner of every file written (the connecting user when omitted).
    type: str
  group:
    description: Group of every file written (the connecting user's when omitted).
    type: str
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
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


def read(path):
    """The file's bytes, or None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def plan(files, reader=read):
    """What each file needs: a list of (entry, current bytes, action), action one of write, remove, mode, keep."""
    steps = []
    for entry in files:
        current = reader(entry["path"])
        if entry["state"] == "absent":
            action = "remove" if current is not None else "keep"
        elif current != to_bytes(entry["content"]):
            action = "write"
        else:
            action = "mode"
        steps.append((entry, current, action))
    return steps


def diff(entry, current, action):
    """The before/after of one file for Ansible's diff output."""
    before = to_text(current, errors="surrogate_or_strict") if current is not None else ""
    after = "" if action == "remove" else entry["content"]
    return dict(before=before, after=after, before_header=entry["path"], after_header=entry["path"])


def write(module, entry):
    folder = os.path.dirname(entry["path"])
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    handle, temp = tempfile.mkstemp(prefix=".dlops-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(to_bytes(entry["content"]))
        os.chmod(temp, int(entry["mode"], 8))
    except (IOError, OSError) as exc:
        os.unlink(temp)
        module.fail_json(msg="%s: cannot write it: %s" % (entry["path"], exc))
    module.atomic_move(temp, entry["path"])


def attributes_differ(module, path, mode):
    """Mode, owner and group set where they differ (only reported in check mode); True when any did."""
    changed = module.set_mode_if_different(path, mode, False)
    changed = module.set_owner_if_different(path, module.params["owner"], changed)
    return module.set_group_if_different(path, module.params["group"], changed)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", default=""),
                mode=dict(type="str", default="0644"),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            )),
            owner=dict(type="str"),
            group=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    written, removed, diffs = [], [], []
    for entry, current, action in plan(module.params["files"]):
        path = entry["path"]
        if action == "keep":
            continue
        if action == "remove":
            removed.append(path)
            diffs.append(diff(entry, current, action))
            if not module.check_mode:
                os.unlink(path)
            continue
        if action == "write":
            diffs.append(diff(entry, current, action))
            if not module.check_mode:
                write(module, entry)
        if action == "mode":
            before = "mode %04o\n" % (os.stat(path).st_mode & 0o7777)
            if attributes_differ(module, path, entry["mode"]):
                written.append(path)
                diffs.append(dict(before=before, after="mode %s\n" % entry["mode"], before_header=path,
                                  after_header=path))
        elif action == "write":
            written.append(path)
            if not module.check_mode:
                attributes_differ(module, path, entry["mode"])
    module.exit_json(changed=bool(written or removed), written=written, removed=removed, diff=diffs)


if __name__ == "__main__":
    main()
