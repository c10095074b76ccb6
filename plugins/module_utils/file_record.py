# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What dlops.gpu.managed_files last left in a set of files, kept on the host and checked again by the probe.

managed_files (with ``record``) writes, after a run, each file's sha256, mode and owner as it left them, and the
owner and group it was asked for. gpu_facts reads every record and reports, per set, the files that are still
exactly so on disk (hashed again at probe time) as ansible_facts.gpu.managed_files. The managed_files action then
skips the module where every file of the set is reported as already wanted: on a converged host the probe's one
module execution has checked them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import stat

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file

FOLDER = "/var/lib/dlops-gpu/managed-files"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
MAX_RECORD_BYTES = 1024 * 1024


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def state(path):
    """{'sha256', 'mode', 'uid', 'gid'} of the regular file ``path`` leads to, {'absent': True}, or None (anything
    else: a folder, a FIFO, a dangling link)."""
    try:
        info = os.stat(path)
    except OSError:
        return None if os.path.lexists(path) else {"absent": True}
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        with open(path, "rb") as handle:
            digest = sha256(handle.read())
    except (IOError, OSError):
        return None
    return {"sha256": digest, "mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}


def record_path(name, root="/"):
    return os.path.join(root, FOLDER.lstrip("/"), name + ".json")


def write(name, paths, owner, group):
    """Keep the state of ``paths`` as they are now, with the owner and group asked for; True when it changed."""
    files = {}
    for path in paths:
        found = state(path)
        if found is not None:
            files[path] = found
    data = (json.dumps({"owner": owner, "group": group, "files": files}, sort_keys=True, indent=1) + "\n").encode()
    target = record_path(name)
    if atomic_file.read(target) == data:
        return False
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o755)
    atomic_file.write(target, data, mode=0o644)
    return True


def read_all(root="/"):
    """{name: {'owner', 'group', 'files': {path: state}}} for every record whose files are still as recorded; a file
    that differs now (edited, removed, its mode changed) is left out, a damaged record is ignored."""
    folder = os.path.join(root, FOLDER.lstrip("/"))
    found = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return found
    for entry in names:
        name, ext = os.path.splitext(entry)
        if ext != ".json" or not NAME_RE.match(name):
            continue
        try:
            with open(os.path.join(folder, entry), "rb") as handle:
                data = json.loads(handle.read(MAX_RECORD_BYTES + 1)[:MAX_RECORD_BYTES].decode("utf-8"))
            files = data["files"]
            owner, group = data.get("owner"), data.get("group")
        except (IOError, OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if not isinstance(files, dict):
            continue
        still = {}
        for path, kept in files.items():
            if isinstance(path, str) and os.path.isabs(path) and state(os.path.join(root, path.lstrip("/"))) == kept:
                still[path] = kept
        found[name] = {"owner": owner, "group": group, "files": still}
    return found


def _mode(value):
    """A mode as managed_files reads it (an octal string, or an int as it is), None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^(0o)?[0-7]+\Z", value.strip()):
        return int(value.strip(), 8)
    return None


def satisfied(entries, known, owner, group):
    """Whether every entry (path, state, content (text), mode) is already what the probe found, by ``known``
    (read_all()'s for the set): same content, mode, owner and group asked for, or absent where it must be."""
    if not isinstance(known, dict) or known.get("owner") != owner or known.get("group") != group:
        return False
    files = known.get("files")
    if not isinstance(files, dict) or not entries:
        return False
    for entry in entries:
        kept = files.get(entry.get("path")) if isinstance(entry, dict) else None
        if not isinstance(kept, dict):
            return False
        if entry.get("state", "present") == "absent":
            if not kept.get("absent"):
                return False
            continue
        content = entry.get("content", "")
        if not isinstance(content, str) or kept.get("absent"):
            return False
        if kept.get("sha256") != sha256(content.encode("utf-8")) or kept.get("mode") != _mode(entry.get("mode", "0644")):
            return False
    return True
