# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Line-preserving /etc/fstab editing: pure functions, no I/O.

Every line that is not ours stays byte for byte. A line we own is matched by
its mount point; for ``noatime`` on an existing entry only the options field of
that line changes, with the whitespace around it kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

ATIME_OPTIONS = ("atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime")
SIZE_RE = re.compile(r"^[0-9]+(%|[kKmMgG])?$")
_FIELD_RE = re.compile(r"\S+")


class FstabError(Exception):
    """A problem with the fstab or the request that must stop the change."""


def unescape(field):
    """Decode the octal escapes fstab uses for blanks (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def escape(field):
    """Encode blanks and backslashes the way fstab(5) wants them."""
    out = []
    for ch in field:
        if ch in " \t\n\\":
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def parse(text):
    """Split fstab text into lines, each a dict.

    ``raw`` is the line without its newline; entries also carry ``spans`` (the
    (start, end) of each field in ``raw``), ``fields`` and ``target`` (the
    decoded mount point). Comments, blank and malformed lines have ``fields``
    None and are never touched.
    """
    lines = []
    for raw in text.split("\n"):
        item = {"raw": raw, "fields": None, "spans": None, "target": None}
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            spans = [m.span() for m in _FIELD_RE.finditer(raw)]
            if len(spans) >= 4:
                item["spans"] = spans
                item["fields"] = [raw[a:b] for a, b in spans]
                item["target"] = unescape(item["fields"][1])
        lines.append(item)
    return lines


def render(lines):
    return "\n".join(line["raw"] for line in lines)


def find_target(lines, target):
    """Index of the entry that mounts ``target``; several is an error."""
    found = [i for i, line in enumerate(lines) if line["target"] == target]
    if len(found) > 1:
        raise FstabError(
            "/etc/fstab has %d entries for %s (lines %s): keep one, then run again"
            % (len(found), target, ", ".join(str(i + 1) for i in found)))
    return found[0] if found else None


def split_options(opts):
    if isinstance(opts, (list, tuple)):
        items = [str(o) for o in opts]
    else:
        items = str(opts or "").split(",")
    return [o.strip() for o in items if o and o.strip()]


def with_options(current, wanted, drop_atime=False):
    """Return option list ``current`` with ``wanted`` added in order.

    ``drop_atime`` removes the other atime options (relatime, strictatime...),
    so that ``noatime`` is not contradicted. ``defaults`` is dropped once other
    options are present, except when the list would be empty.
    """
    result = []
    for opt in current:
        if drop_atime and opt in ATIME_OPTIONS and opt not in wanted:
            continue
        if opt not in result:
            result.append(opt)
    for opt in wanted:
        key = opt.split("=", 1)[0]
        if "=" in opt:
            result = [o for o in result if o.split("=", 1)[0] != key]
        if opt not in result:
            result.append(opt)
    if len(result) > 1 and "defaults" in result:
        result.remove("defaults")
    return result or ["defaults"]


def replace_field(line, index, value):
    """Replace one field of an entry line, keeping every other byte."""
    start, end = line["spans"][index]
    raw = line["raw"][:start] + value + line["raw"][end:]
    return parse(raw)[0]


def entry_line(source, target, fstype, options, dump=0, passno=0):
    return "%s %s %s %s %d %d" % (
        escape(source), escape(target), fstype, ",".join(options), int(dump), int(passno))


def data_mount_options(options, device_timeout):
    """The options a data disk gets: the user's, plus noatime, nofail, timeout."""
    wanted = ["noatime", "nofail"]
    if device_timeout:
        wanted.append("x-systemd.device-timeout=%s" % device_timeout)
    return with_options(split_options(options), wanted, drop_atime=True)


def tmpfs_options(size, mode, options):
    if not SIZE_RE.match(str(size)):
        raise FstabError(
            "tmpfs size %r is not valid: use a percentage of RAM such as '10%%' "
            "or an absolute size such as '16G'" % (size,))
    return with_options(split_options(options), ["size=%s" % size, "mode=%s" % mode])


def _upsert(lines, changes, target, new_raw):
    index = find_target(lines, target)
    if index is None:
        if lines and lines[-1]["raw"] == "":
            lines.insert(len(lines) - 1, parse(new_raw)[0])
        else:
            lines.append(parse(new_raw)[0])
        changes.append({"target": target, "action": "add", "line": new_raw})
        return
    old = lines[index]
    if _same_entry(old["fields"], parse(new_raw)[0]["fields"]):
        return
    lines[index] = parse(new_raw)[0]
    changes.append({"target": target, "action": "replace", "old": old["raw"], "line": new_raw})


def _same_entry(old, new):
    """Same source, target, type, options (as a set) and numbers."""
    if old[:3] != new[:3]:
        return False
    if set(split_options(old[3])) != set(split_options(new[3])):
        return False
    pad = ["0", "0"]
    return (old[4:] + pad)[:2] == (new[4:] + pad)[:2]


def plan(text, mounts=(), noatime=(), tmpfs=None, device_timeout="10s"):
    """Compute the new fstab text and the list of changes.

    ``mounts``: dicts with ``src`` (UUID=... or LABEL=...), ``path``,
    ``fstype``, ``opts``, ``dump``, ``passno``. ``noatime``: mount points of
    existing entries that get noatime in their options field only. ``tmpfs``:
    dict with ``path``, ``size``, ``mode``, ``opts``, or None.
    """
    lines = parse(text)
    changes = []
    for mount in mounts:
        options = data_mount_options(mount.get("opts"), device_timeout)
        _upsert(lines, changes, mount["path"], entry_line(
            mount["src"], mount["path"], mount["fstype"], options,
            mount.get("dump", 0), mount.get("passno", 2)))
    for target in noatime:
        index = find_target(lines, target)
        if index is None:
            known = sorted(line["target"] for line in lines if line["target"])
            raise FstabError(
                "noatime was asked for %s, but /etc/fstab has no entry for it "
                "(entries: %s)" % (target, ", ".join(known) or "none"))
        line = lines[index]
        current = split_options(line["fields"][3])
        options = with_options(current, ["noatime"], drop_atime=True)
        if options != current:
            lines[index] = replace_field(line, 3, ",".join(options))
            changes.append({"target": target, "action": "noatime",
                            "old": line["raw"], "line": lines[index]["raw"]})
    if tmpfs:
        options = tmpfs_options(tmpfs["size"], tmpfs.get("mode", "1777"), tmpfs.get("opts"))
        _upsert(lines, changes, tmpfs["path"], entry_line(
            "tmpfs", tmpfs["path"], "tmpfs", options, 0, 0))
    new = render(lines)
    if new and not new.endswith("\n"):
        new += "\n"
    return new, changes


def mount_action(state, entry_changed, fstype=None, option=None):
    """What brings a live mount in line with its fstab entry: None, "mount" or "remount".

    ``state`` is (fstype, options) of what is mounted there now, or None. A
    mount of another type than ``fstype`` (when given) is mounted over; a
    changed entry, or a live mount lacking ``option``, is remounted.
    """
    if state is None or (fstype and state[0] != fstype):
        return "mount"
    if entry_changed or (option and option not in state[1]):
        return "remount"
    return None


def parse_verify(output):
    """Parse ``findmnt --verify`` output into (parse_errors, {target: [errors]})."""
    errors = {}
    parse_errors = 0
    target = None
    for line in output.splitlines():
        if not line.strip():
            continue
        if "parse error" in line and not line.startswith(" "):
            match = re.search(r"(\d+) parse error", line)
            if match and "errors," in line:
                parse_errors = max(parse_errors, int(match.group(1)))
            elif "-- ignored" in line:
                parse_errors = max(parse_errors, 1)
            continue
        if not line.startswith(" "):
            target = line.strip()
            continue
        message = line.strip()
        if message.startswith("[E]") and target is not None:
            errors.setdefault(target, []).append(message[3:].strip())
    return parse_errors, errors


def new_verify_errors(before, after, ignore_missing_targets=()):
    """Errors that ``after`` (findmnt --verify output) adds over ``before``.

    Errors already present in the old file are not ours to fix; a missing
    mount point that the change itself will create is ignored.
    """
    old_parse, old_errors = parse_verify(before)
    new_parse, new_errors = parse_verify(after)
    problems = []
    if new_parse > old_parse:
        problems.append("%d new parse error(s)" % (new_parse - old_parse))
    for target, messages in sorted(new_errors.items()):
        for message in messages:
            if message in old_errors.get(target, []):
                continue
            if target in ignore_missing_targets and "target" in message:
                continue
            problems.append("%s: %s" % (target, message))
    return problems
