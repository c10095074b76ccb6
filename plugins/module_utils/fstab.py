# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Line-preserving /etc/fstab editing: pure functions, no I/O.

Every line that is not ours stays byte for byte. A line we own is matched by
its mount point; for ``noatime`` on an existing entry only the options field of
that line changes, with the whitespace around it kept.

The file is read the way libmount (mount, findmnt, systemd's fstab generator)
reads it:

- Lines end at LF only. A CR just before the LF is part of the line ending
  (CRLF); a lone CR anywhere else is an ordinary byte of the line, as it is for
  libmount. A line we add takes the ending of the file's first line (CRLF or
  LF), and an unterminated last line gets that ending before a line is added
  after it.
- Fields are separated by spaces and tabs only; a line whose first non-blank
  character is ``#`` is a comment. An entry needs at least three fields
  (source, mount point, type): libmount ignores shorter lines as parse errors,
  so do we. Missing options mean ``defaults``, missing dump and pass ``0``.
- ``\\ooo`` octal escapes are decoded byte-wise (``/my\\040disk`` is
  ``/my disk``).
- Mount points compare after the escapes are decoded and repeated, trailing and
  ``.`` slashes removed (``/data/``, ``/data//``, ``/data/.`` are ``/data``).
  Sources compare by what they name: ``/dev/disk/by-uuid/X`` is ``UUID=X``
  (likewise LABEL, PARTUUID, PARTLABEL), quotes around tag values are dropped
  and UUIDs compare without regard to case.

Text is ``str`` decoded from the file's bytes with ``surrogateescape``
(:func:`decode`, :func:`encode`): bytes that are not UTF-8 go through unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

ATIME_OPTIONS = ("atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime")
# What the kernel's tmpfs takes for size= (memparse suffixes or a percentage of RAM), without leading zeros
# (memparse would read 010 as octal) and never 0, which means "no limit".
SIZE_RE = re.compile(r"^([1-9][0-9]*)([kKmMgGtTpPeE]|%)?\Z")
FSTYPE_RE = re.compile(r"^[a-z0-9._+-]+\Z")
# systemd time spans written without blanks ("10s", "1min30s", "1.5h") or "infinity".
TIMESPAN_RE = re.compile(r"^(infinity|([0-9]+(\.[0-9]+)?(usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m"
                         r"|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)?)+)\Z")
TAGS = ("UUID", "LABEL", "PARTUUID", "PARTLABEL")
BY_DIRS = {"by-uuid": "UUID", "by-label": "LABEL", "by-partuuid": "PARTUUID", "by-partlabel": "PARTLABEL"}
_FIELD_RE = re.compile(r"[^ \t]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ODD_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but the tab, inside a line
_OCTAL_RE = re.compile(br"\\([0-7]{3})")


class FstabError(Exception):
    """A problem with the fstab or the request that must stop the change."""


def decode(data):
    """The text of fstab bytes; bytes that are not UTF-8 survive :func:`encode` unchanged."""
    if isinstance(data, bytes):
        return data.decode("utf-8", "surrogateescape")
    return data or ""


def encode(text):
    return text.encode("utf-8", "surrogateescape")


def display(text):
    """``text`` fit for a message or a diff: undecodable bytes shown as U+FFFD."""
    return encode(text).decode("utf-8", "replace")


def unescape(field):
    """Decode the octal escapes fstab uses for blanks (``\\040``), byte-wise as libmount does."""
    if "\\" not in field:
        return field
    raw = _OCTAL_RE.sub(lambda m: bytes(bytearray([int(m.group(1), 8) & 0xff])), encode(field))
    return decode(raw)


def escape(field):
    """Encode blanks, control characters, backslashes and a leading ``#`` the way fstab(5) wants them."""
    out = []
    for index, ch in enumerate(field):
        if ch in " \\" or _CONTROL_RE.match(ch) or (ch == "#" and index == 0):
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def normalize_target(path):
    """A mount point as it compares: ``/data/``, ``/data//`` and ``/data/.`` are ``/data``."""
    if not path:
        return path
    absolute = path.startswith("/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    joined = "/".join(parts)
    if absolute:
        return "/" + joined
    return joined or "."


def _udev_unescape(value):
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def source_key(source):
    """What a (decoded) source names, as a comparable tuple: (tag, value) or ("PATH", path)."""
    tag, sep, value = source.partition("=")
    if sep and tag in TAGS:
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
    else:
        match = re.match(r"^/dev/disk/(by-uuid|by-label|by-partuuid|by-partlabel)/([^/]+)\Z", normalize_target(source))
        if not match:
            return ("PATH", normalize_target(source))
        tag, value = BY_DIRS[match.group(1)], _udev_unescape(match.group(2))
    if tag in ("UUID", "PARTUUID"):
        value = value.lower()
    return (tag, value)


def _split_lines(text):
    """(content, ending) pairs; ending is "\\r\\n", "\\n" or "" for an unterminated last line."""
    pieces = text.split("\n")
    out = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if last:
            if piece:
                out.append((piece, ""))
        elif piece.endswith("\r"):
            out.append((piece[:-1], "\r\n"))
        else:
            out.append((piece, "\n"))
    return out


def parse_line(raw, eol="\n"):
    item = {"raw": raw, "eol": eol, "fields": None, "spans": None, "target": None, "odd": False}
    stripped = raw.lstrip(" \t")
    if stripped and not stripped.startswith("#"):
        spans = [m.span() for m in _FIELD_RE.finditer(raw)]
        if len(spans) >= 3:
            item["spans"] = spans
            item["fields"] = [raw[a:b] for a, b in spans]
            item["target"] = normalize_target(unescape(item["fields"][1]))
            item["odd"] = bool(_ODD_RE.search(raw))
    return item


def parse(text):
    """Split fstab text into lines, each a dict.

    ``raw`` is the line without its ending, ``eol`` the ending ("\\n", "\\r\\n"
    or "" on an unterminated last line); entries also carry ``spans`` (the
    (start, end) of each field in ``raw``), ``fields``, ``target`` (the decoded,
    normalised mount point) and ``odd`` (a control character other than a tab
    inside the line, such as a lone CR). Comments, blank and malformed lines
    have ``fields`` None and are never touched.
    """
    return [parse_line(raw, eol) for raw, eol in _split_lines(decode(text))]


def render(lines):
    return "".join(line["raw"] + line["eol"] for line in lines)


def line_ending(lines):
    """The ending a new line gets: the one of the file's first line, LF when there is none."""
    for line in lines:
        if line["eol"]:
            return line["eol"]
    return "\n"


def find_target(lines, target, name="/etc/fstab"):
    """Index of the entry that mounts ``target``; several is an error."""
    target = normalize_target(target)
    found = [i for i, line in enumerate(lines) if line["target"] == target]
    if len(found) > 1:
        raise FstabError(
            "%s has %d entries for %s (lines %s): keep one, then run again; nothing was changed"
            % (name, len(found), target, ", ".join(str(i + 1) for i in found)))
    if found and lines[found[0]]["odd"]:
        raise FstabError(
            "%s line %d, the entry for %s, holds a control character (such as a carriage return that does not "
            "end the line): fix that line by hand, then run again; nothing was changed" % (name, found[0] + 1, target))
    return found[0] if found else None


def split_options(opts):
    if isinstance(opts, (list, tuple)):
        items = []
        for opt in opts:
            items.extend(str(opt).split(","))
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
    """Replace one field of an entry line, keeping every other byte.

    ``index`` 3 on a three-field line (no options yet) inserts the options
    field after the type, separated as the first two fields are.
    """
    spans = line["spans"]
    if index < len(spans):
        start, end = spans[index]
        raw = line["raw"][:start] + value + line["raw"][end:]
    elif index == len(spans):
        end = spans[-1][1]
        sep = line["raw"][spans[0][1]:spans[1][0]]
        raw = line["raw"][:end] + sep + value + line["raw"][end:]
    else:
        raise FstabError("field %d cannot be set on a line of %d fields" % (index + 1, len(spans)))
    return parse_line(raw, line["eol"])


def entry_line(source, target, fstype, options, dump=0, passno=0):
    return "%s %s %s %s %d %d" % (
        escape(source), escape(target), fstype, ",".join(options), int(dump), int(passno))


def parse_mode(mode, what="mode"):
    """An int mode from what a user gave, the way ansible.builtin.file reads ``mode``.

    An int is the number it is (YAML ``01777`` is 1023, that is 0o1777); a
    string is octal (``"1777"``, ``"0755"``). Only permission bits are allowed.
    """
    if mode is None:
        return None
    if isinstance(mode, bool):
        raise FstabError("%s %r is not a mode: quote an octal number such as \"0755\"" % (what, mode))
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode)
        if not re.match(r"^0?[0-7]{1,4}\Z", text):
            raise FstabError("%s %r is not an octal mode: quote an octal number such as \"0755\" or \"1777\""
                             % (what, mode))
        value = int(text, 8)
    if value < 0 or value > 0o7777:
        raise FstabError("%s %r is out of range: only permission bits (0000 to 7777 octal) are allowed; quote "
                         "the octal number, such as \"0755\"" % (what, mode))
    return value


def data_mount_options(options, device_timeout):
    """The options a data disk gets: the user's, plus noatime, nofail, timeout."""
    wanted = ["noatime", "nofail"]
    if device_timeout:
        wanted.append("x-systemd.device-timeout=%s" % device_timeout)
    return with_options(split_options(options), wanted, drop_atime=True)


def check_size(size):
    match = SIZE_RE.match(str(size)) if isinstance(size, (str, int)) and not isinstance(size, bool) else None
    if not match or (match.group(2) == "%" and int(match.group(1)) > 100):
        raise FstabError(
            "tmpfs size %r is not valid: use a percentage of RAM from 1%% to 100%% such as '10%%', or an absolute "
            "size such as '16G' (a number above 0 with an optional k, m, g, t, p or e)" % (size,))
    if match.group(2) is None and int(match.group(1)) < 1 << 20:
        # The kernel takes a bare number as bytes: 16 would be a /tmp of one page.
        raise FstabError(
            "tmpfs size %r is a number of bytes, under 1 MiB: give a unit (such as '16G') or a percentage of RAM "
            "(such as '10%%')" % (size,))


def tmpfs_options(size, mode, options):
    check_size(size)
    return with_options(split_options(options), ["size=%s" % size, "mode=%04o" % parse_mode(mode, "tmpfs mode")])


def _option_problems(what, opts):
    """Why a list of mount options could inject fields or lines into an fstab line."""
    if opts is None:
        return []
    items = opts if isinstance(opts, (list, tuple)) else [opts]
    problems = []
    for item in items:
        if not isinstance(item, str):
            problems.append("%s: option %r is not a string" % (what, item))
            continue
        for piece in item.split(","):
            if not piece:
                problems.append("%s: option list %r has an empty item (two commas, or a comma at an end)"
                                % (what, item))
            elif re.search(r"[\s#\\]", piece) or _CONTROL_RE.search(piece):
                # A backslash too: libmount decodes \ooo escapes in the options field, so "\012" would become
                # a newline in the unit systemd-fstab-generator writes.
                problems.append("%s: option %r holds a blank, a newline, a control character, '#' or a backslash; "
                                "an fstab option cannot" % (what, piece))
    return problems


def _path_problems(what, path, allow_root=False):
    if not isinstance(path, str) or not path:
        return ["%s: mount point %r must be a non-empty absolute path" % (what, path)]
    if _CONTROL_RE.search(path):
        return ["%s: mount point %r holds a newline, tab or other control character" % (what, path)]
    if not path.startswith("/"):
        return ["%s: mount point %r must be an absolute path" % (what, path)]
    if not allow_root and normalize_target(path) == "/":
        return ["%s: mount point %r must not be /" % (what, path)]
    if ".." in path.split("/"):
        return ["%s: mount point %r must not contain '..'" % (what, path)]
    return []


def source_problems(what, src):
    if not isinstance(src, str) or not src:
        return ["%s: src %r must be UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=... or /dev/disk/by-*/..." % (what, src)]
    if _CONTROL_RE.search(src):
        return ["%s: src %r holds a newline, tab or other control character" % (what, src)]
    key = source_key(src)
    if key[0] == "PATH" or not key[1].strip():
        return ["%s: src must be UUID=..., LABEL=..., PARTUUID=..., PARTLABEL=... (see `blkid` or `lsblk -f`) or a "
                "/dev/disk/by-uuid (by-label, by-partuuid, by-partlabel) path, not %r" % (what, src)]
    return []


def validate(mounts=(), noatime=(), tmpfs=None, device_timeout="10s"):
    """Refuse a request that would write a wrong or unsafe fstab; one FstabError lists every problem."""
    problems = request_problems(mounts, noatime, tmpfs, device_timeout)
    if problems:
        raise FstabError("; ".join(problems) + "; nothing was changed")


def request_problems(mounts=(), noatime=(), tmpfs=None, device_timeout="10s"):
    """Every reason the request would write a wrong or unsafe fstab, as a list of messages."""
    problems = []
    seen = {}

    def claim(path, what):
        key = normalize_target(path)
        if key in seen:
            problems.append("%s: mount point %s is also asked for by %s (the same mount point written another "
                            "way counts as the same)" % (what, path, seen[key]))
        else:
            seen[key] = what

    if not isinstance(mounts, (list, tuple)):
        problems.append("mounts must be a list of dicts, not %r" % (mounts,))
        mounts = ()
    for index, mount in enumerate(mounts):
        what = "mounts[%d]" % index
        if not isinstance(mount, dict):
            problems.append("%s must be a dict with src, path and fstype, not %r" % (what, mount))
            continue
        path_problems = _path_problems(what, mount.get("path"))
        problems.extend(path_problems)
        if not path_problems:
            what = "mounts[%d] (%s)" % (index, mount["path"])
            claim(mount["path"], what)
        problems.extend(source_problems(what, mount.get("src")))
        fstype = mount.get("fstype")
        if not isinstance(fstype, str) or not FSTYPE_RE.match(fstype):
            problems.append("%s: fstype %r must be one word of a-z, 0-9 and . _ + - (such as ext4, xfs)" % (what, fstype))
        problems.extend(_option_problems(what, mount.get("opts")))
        for field in ("dump", "passno"):
            value = mount.get(field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9):
                problems.append("%s: %s %r must be a number from 0 to 9" % (what, field, value))
        try:
            parse_mode(mount.get("mode"), "%s: mode" % what)
        except FstabError as exc:
            problems.append(str(exc))
    if device_timeout and (not isinstance(device_timeout, str) or not TIMESPAN_RE.match(device_timeout)):
        problems.append("device_timeout %r must be a systemd time span without blanks, such as 10s or 1min30s"
                        % (device_timeout,))
    if tmpfs:
        path = tmpfs.get("path", "/tmp")
        path_problems = _path_problems("tmpfs", path)
        problems.extend(path_problems)
        if not path_problems:
            claim(path, "tmpfs (%s)" % path)
        try:
            check_size(tmpfs.get("size"))
        except FstabError as exc:
            problems.append(str(exc))
        try:
            parse_mode(tmpfs.get("mode", "1777"), "tmpfs mode")
        except FstabError as exc:
            problems.append(str(exc))
        problems.extend(_option_problems("tmpfs", tmpfs.get("opts")))
    if not isinstance(noatime, (list, tuple)):
        problems.append("noatime must be a list of mount points, not %r" % (noatime,))
        noatime = ()
    for index, target in enumerate(noatime):
        what = "noatime[%d]" % index
        path_problems = _path_problems(what, target, allow_root=True)
        problems.extend(path_problems)
        if not path_problems:
            claim(target, "%s (%s)" % (what, target))
    return problems


def _insert(lines, new_line):
    if lines and not lines[-1]["eol"]:
        lines[-1] = dict(lines[-1], eol=line_ending(lines))
    lines.append(new_line)


def _upsert(lines, changes, target, new_raw, name):
    target = normalize_target(target)
    index = find_target(lines, target, name)
    if index is None:
        _insert(lines, parse_line(new_raw, line_ending(lines)))
        changes.append({"target": target, "action": "add", "line": new_raw})
        return
    old = lines[index]
    new = parse_line(new_raw, old["eol"])
    if _same_entry(old["fields"], new["fields"]):
        return
    lines[index] = new
    changes.append({"target": target, "action": "replace", "old": old["raw"], "line": new_raw})


def _number(field):
    try:
        return int(field)
    except ValueError:
        return field


def _same_entry(old, new):
    """Same source (by what it names), target, type, options (as a set) and numbers."""
    if source_key(unescape(old[0])) != source_key(unescape(new[0])):
        return False
    if normalize_target(unescape(old[1])) != normalize_target(unescape(new[1])) or old[2] != new[2]:
        return False
    old_opts = old[3] if len(old) > 3 else "defaults"
    if set(split_options(old_opts)) != set(split_options(new[3])):
        return False
    pad = ["0", "0"]
    return [_number(f) for f in (old[4:] + pad)[:2]] == [_number(f) for f in (new[4:] + pad)[:2]]


def plan(text, mounts=(), noatime=(), tmpfs=None, device_timeout="10s", name="/etc/fstab"):
    """Compute the new fstab text and the list of changes.

    ``text`` is the file's text (see :func:`decode`) or its bytes; the result is
    of the same kind. ``mounts``: dicts with ``src`` (UUID=... or LABEL=...),
    ``path``, ``fstype``, ``opts``, ``dump``, ``passno``. ``noatime``: mount
    points of existing entries that get noatime in their options field only.
    ``tmpfs``: dict with ``path``, ``size``, ``mode``, ``opts``, or None. A
    request that would write a wrong or unsafe line raises FstabError, as does
    an entry we would change that is ambiguous; nothing is returned then.
    """
    as_bytes = isinstance(text, bytes)
    validate(mounts, noatime, tmpfs, device_timeout)
    lines = parse(text)
    changes = []
    for mount in mounts:
        options = data_mount_options(mount.get("opts"), device_timeout)
        _upsert(lines, changes, mount["path"], entry_line(
            mount["src"], normalize_target(mount["path"]), mount["fstype"], options,
            mount.get("dump", 0), mount.get("passno", 2)), name)
    for target in noatime:
        index = find_target(lines, target, name)
        if index is None:
            known = sorted(line["target"] for line in lines if line["target"])
            raise FstabError(
                "noatime was asked for %s, but %s has no entry for it (entries: %s): add the entry or remove %s "
                "from the list; nothing was changed" % (target, name, ", ".join(known) or "none", target))
        line = lines[index]
        current = split_options(line["fields"][3]) if len(line["fields"]) > 3 else ["defaults"]
        options = with_options(current, ["noatime"], drop_atime=True)
        if options != current or len(line["fields"]) < 4:
            lines[index] = replace_field(line, 3, ",".join(options))
            changes.append({"target": normalize_target(target), "action": "noatime",
                            "old": line["raw"], "line": lines[index]["raw"]})
    if tmpfs:
        options = tmpfs_options(tmpfs["size"], tmpfs.get("mode", "1777"), tmpfs.get("opts"))
        _upsert(lines, changes, tmpfs.get("path", "/tmp"), entry_line(
            "tmpfs", normalize_target(tmpfs.get("path", "/tmp")), "tmpfs", options, 0, 0), name)
    new = render(lines) if changes else decode(text)
    return (encode(new) if as_bytes else new), changes


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
