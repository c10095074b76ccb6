# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NVIDIA runtime merged into Docker's daemon.json and containerd's configuration, standard library only.

Pure functions from the files' current text to their wanted text, editing the text rather than re-serialising
it: only the values this collection owns change, every other byte (key order, indentation, line endings,
comments, escapes, non-ASCII text) stays as it was, and a file that already holds what is wanted comes back as it
is. containerd's imports are resolved the way containerd resolves them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import posixpath
import re
from collections import OrderedDict

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file

try:
    import tomllib as _toml  # Python 3.11+
except ImportError:  # pragma: no cover - older managed hosts
    try:
        import tomli as _toml
    except ImportError:
        _toml = None

RUNTIME_NAME = "nvidia"
CDI_SPEC_DIRS = ["/etc/cdi", "/var/run/cdi"]
# The CRI plugin that holds the runtimes, per containerd configuration version.
CRI_RUNTIME_PLUGIN = {2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime"}
_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# How deeply the values of a configuration file may nest: deeper files are refused before Python's recursion
# limit is reached anywhere (the parsers, the text scanners, copying and comparing the values). No real
# configuration comes close; Go's encoding/json stops at 10000.
MAX_DEPTH = 256
BOM = u"\ufeff"

try:
    _RECURSION_ERRORS = (RecursionError,)
except NameError:  # pragma: no cover - Python 2 raises RuntimeError
    _RECURSION_ERRORS = (RuntimeError,)


class ConfigError(Exception):
    """A configuration file the engine would not read either: nothing is written."""


# Text -------------------------------------------------------------------------------------------------------


def decode_text(data, path, bom=False):
    """The text of a configuration file's bytes ("" for None); a file that is not UTF-8 is refused by name.

    A UTF-8 byte order mark is refused, unless ``bom`` (daemon.json: dockerd 23 and later skip one): then it stays
    at the start of the text, as the operator's byte, and docker_daemon_config edits after it.
    """
    if data is None:
        return ""
    if data.startswith(b"\xef\xbb\xbf") and not bom:
        raise ConfigError("%s starts with a UTF-8 byte order mark, which the engine's parser does not take: save "
                          "it without one, then run again; nothing was changed" % path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError("%s is not UTF-8 text (byte 0x%02x at offset %d, line %d): the engine reads UTF-8 only; "
                          "convert it (iconv -t utf-8), then run again; nothing was changed"
                          % (path, bytearray(data[exc.start:exc.start + 1])[0], exc.start, line))


def newline_of(text, default="\n"):
    """The line ending a file uses first (CRLF, LF or a lone CR), ``default`` when it has none."""
    match = re.search(r"\r\n|\n|\r", text)
    return match.group(0) if match else default


# Docker ------------------------------------------------------------------------------------------------------


def json_indent(text):
    """The indentation a JSON file uses (tab or N spaces), None when it has no indented line."""
    for line in text.splitlines():
        match = re.match(r"^([ \t]+)\S", line)
        if match:
            return "\t" if match.group(1).startswith("\t") else len(match.group(1))
    return None


# The top-level keys of daemon.json this collection owns, and dockerd's struct fields inside the runtime.
DOCKER_OWNED = ("runtimes", "default-runtime", "features")
_JSON_WS = " \t\n\r"
_JSON_SCALAR_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")


def _go_fold(key):
    """A key as Go's encoding/json compares it with a struct field: without case (K and long s fold too)."""
    return key.replace(u"\u212a", "k").replace(u"\u017f", "s").lower()


class _Node(object):
    """A JSON value's span in the text; objects keep their members as (key, key_start, value_node)."""

    def __init__(self, start, end=None, members=None):
        self.start, self.end, self.members = start, end, members


def _json_ws(text, pos):
    while pos < len(text) and text[pos] in _JSON_WS:
        pos += 1
    return pos


def _json_value(text, pos, path):
    pos = _json_ws(text, pos)
    char = text[pos:pos + 1]
    if char == "{":
        node = _Node(pos, members=[])
        pos = _json_ws(text, pos + 1)
        if text[pos:pos + 1] == "}":
            node.end = pos + 1
            return node
        while True:
            pos = _json_ws(text, pos)
            key_start = pos
            key, pos = json.decoder.scanstring(text, pos + 1)
            pos = _json_ws(text, pos) + 1  # the colon
            value = _json_value(text, pos, path)
            node.members.append((key, key_start, value))
            pos = _json_ws(text, value.end)
            if text[pos] == "}":
                node.end = pos + 1
                return node
            pos += 1  # the comma
    if char == "[":
        node = _Node(pos)
        pos = _json_ws(text, pos + 1)
        if text[pos:pos + 1] == "]":
            node.end = pos + 1
            return node
        while True:
            pos = _json_ws(text, _json_value(text, pos, path).end)
            if text[pos] == "]":
                node.end = pos + 1
                return node
            pos += 1
    if char == '"':
        return _Node(pos, json.decoder.scanstring(text, pos + 1)[1])
    match = _JSON_SCALAR_RE.match(text, pos)
    if not match:
        raise ConfigError("%s: unexpected text at offset %d; nothing was changed" % (path, pos))
    return _Node(pos, match.end())


def _no_constant(name):
    raise ValueError("%s is not JSON (dockerd refuses it)" % name)


def _too_deep(path):
    return ConfigError("%s is nested too deeply (more than %d levels of objects and arrays) to be read safely; "
                       "flatten it, then run again; nothing was changed" % (path, MAX_DEPTH))


def check_depth(value, path):
    """``value`` (parsed JSON or TOML), refused when its objects and arrays nest deeper than MAX_DEPTH."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        for child in (item.values() if isinstance(item, dict) else item):
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    raise _too_deep(path)
                pending.append((child, depth + 1))
    return value


def parse_json(text, path):
    """(data, root node) of daemon.json; ConfigError saying where it is not the JSON dockerd reads."""
    try:
        data = json.loads(text, object_pairs_hook=OrderedDict, parse_constant=_no_constant)
    except ValueError as exc:
        raise ConfigError("%s is not valid JSON (%s); fix or remove it, it was left as it is" % (path, exc))
    except _RECURSION_ERRORS:
        raise _too_deep(path)
    if not isinstance(data, dict):
        raise ConfigError("%s holds a JSON %s, not an object; fix it, it was left as it is"
                          % (path, type(data).__name__))
    check_depth(data, path)
    return data, _json_value(text, 0, path)


def _member(text, node, key, path, where, fold=False):
    """The value node of ``key`` in an object node, None when absent; a key given twice is refused."""
    same = [(name, value) for name, _start, value in node.members
            if (_go_fold(name) == _go_fold(key) if fold else name == key)]
    if len(same) > 1 or (same and same[0][0] != key):
        names = ", ".join(json.dumps(name, ensure_ascii=False) for name, _value in same)
        raise ConfigError(
            '%s: %s holds %s: dockerd (Go encoding/json) reads %s as one key%s and takes the last for a value but '
            'merges objects, so which one it uses is not clear; keep one key spelt "%s", then run again; nothing '
            'was changed' % (path, where, names, "them" if len(same) > 1 else "it",
                             " without case" if fold else "", key))
    return same[0][1] if same else None


class _Layout(object):
    """How the file lays out its objects, so that what is added looks like what is there."""

    def __init__(self, text, root):
        self.text = text
        self.newline = newline_of(text)
        indent = json_indent(text)
        self.unit = "\t" if indent == "\t" else " " * (indent or 4)
        self.pretty = bool(re.search(r"[\r\n]", text[root.start:root.end])) or not root.members
        # The separator between key and value most of the top-level members use (": " when none).
        colons = [text[json.decoder.scanstring(text, key_start + 1)[1]:value.start] for _key, key_start, value in
                  root.members]
        colons = [colon for colon in colons if not re.search(r"[\r\n]", colon)] or [": "]
        self.colon = max(colons, key=colons.count)

    def line_indent(self, pos):
        start = max(self.text.rfind("\n", 0, pos), self.text.rfind("\r", 0, pos)) + 1
        return re.match(r"[ \t]*", self.text[start:pos]).group(0)

    def multi_line(self, node):
        if node.members:
            return bool(re.search(r"[\r\n]", self.text[node.start:node.members[0][1]]))
        return self.pretty

    def render(self, value, indent, multi):
        if not multi:
            return json.dumps(value, ensure_ascii=False, separators=(", ", self.colon))
        text = json.dumps(value, ensure_ascii=False, indent=self.unit, separators=(",", self.colon))
        return text.replace("\n", self.newline + indent)

    def members(self, pairs, indent, multi, lead):
        return "".join(lead + json.dumps(key, ensure_ascii=False) + self.colon + self.render(value, indent, multi)
                       for key, value in pairs)

    def edits(self, node, add=(), remove=()):
        """The edits that take the keys ``remove`` out of an object node and add the ``add`` pairs at its end."""
        kept = [member for member in node.members if member[0] not in remove]
        multi = self.multi_line(node)
        if not kept:
            if not add:
                return [(node.start + 1, node.end - 1, "")]
            base = self.line_indent(node.start)
            if not multi:
                return [(node.start, node.end, "{" + self.members(add, "", False, ", ")[2:] + "}")]
            indent = base + self.unit
            body = self.members(add, indent, True, "," + self.newline + indent)[1:]
            return [(node.start, node.end, "{" + body + self.newline + base + "}")]
        edits = []
        for index, (key, key_start, value) in enumerate(node.members):
            if key not in remove:
                continue
            if index == 0:
                edits.append((key_start, node.members[1][1], ""))
            else:
                edits.append((node.members[index - 1][2].end, value.end, ""))
        if add:
            indent = self.line_indent(kept[-1][1])
            lead = ("," + self.newline + indent) if multi else ", "
            edits.append((kept[-1][2].end, kept[-1][2].end, self.members(add, indent, multi, lead)))
        return edits


def _is_null(text, node):
    return text[node.start:node.end] == "null"


def _replace_null(layout, parent, node, value):
    """The edit that puts ``value`` where a member of ``parent`` is null, laid out as the parent is."""
    return (node.start, node.end, layout.render(value, layout.line_indent(node.start), layout.multi_line(parent)))


def _splice(text, edits):
    """The text with each (start, end, new) edit made; spans from the original text, not overlapping."""
    for start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def docker_daemon_config(text, runtime_path, default_runtime=False, cdi=False, path="daemon.json"):
    """daemon.json with the nvidia runtime merged in, edited as text.

    ``text`` is the file's content ("" when absent). Only the values this collection owns are spliced in
    (``runtimes.nvidia``, ``default-runtime``, ``features.cdi``); every other byte stays as it was: key order,
    indentation, line endings, escapes and non-ASCII text, keys given twice. A key we own given twice (or in
    another case, which dockerd's Go decoder reads as the same field) is refused: Go keeps the last value but
    merges objects decoded into a map, so no single edit is right. default_runtime true makes nvidia the default;
    false takes back a default of nvidia and leaves any other default alone. cdi true turns on the CDI feature
    flag; false leaves the features as they are. A file that already holds what is wanted comes back as it is.
    A UTF-8 byte order mark at the start (decode_text with bom) is the operator's: kept, the edits go after it.
    ``"runtimes": null`` and ``"features": null``, which dockerd reads as empty, become objects holding ours.
    """
    if text.startswith(BOM):
        return BOM + docker_daemon_config(text[len(BOM):], runtime_path, default_runtime, cdi, path)
    runtime_new = OrderedDict([("path", runtime_path), ("args", [])])
    if not text.strip():
        wanted = OrderedDict([("runtimes", OrderedDict([(RUNTIME_NAME, runtime_new)]))])
        if default_runtime:
            wanted["default-runtime"] = RUNTIME_NAME
        if cdi:
            wanted["features"] = OrderedDict([("cdi", True)])
        return json.dumps(wanted, indent=4, separators=(",", ": "), ensure_ascii=False) + "\n"
    data, root = parse_json(text, path)
    layout = _Layout(text, root)
    edits, root_add, root_remove = [], [], []
    runtimes = _member(text, root, "runtimes", path, "the top level", fold=True)
    if runtimes is None:
        root_add.append(("runtimes", OrderedDict([(RUNTIME_NAME, runtime_new)])))
    elif _is_null(text, runtimes):
        edits.append(_replace_null(layout, root, runtimes, OrderedDict([(RUNTIME_NAME, runtime_new)])))
    elif runtimes.members is None:
        raise ConfigError('%s: "runtimes" is not an object; fix it, it was left as it is' % path)
    else:
        runtime = _member(text, runtimes, RUNTIME_NAME, path, '"runtimes"')
        if runtime is None:
            edits.extend(layout.edits(runtimes, [(RUNTIME_NAME, runtime_new)]))
        elif runtime.members is None:
            edits.append((runtime.start, runtime.end, layout.render(runtime_new, layout.line_indent(runtime.start),
                                                                    layout.multi_line(runtimes))))
        else:
            where = '"runtimes"."%s"' % RUNTIME_NAME
            binary = _member(text, runtime, "path", path, where, fold=True)
            add = []
            if binary is None:
                add.append(("path", runtime_path))
            elif json.loads(text[binary.start:binary.end]) != runtime_path:
                edits.append((binary.start, binary.end, json.dumps(runtime_path, ensure_ascii=False)))
            if _member(text, runtime, "args", path, where) is None:
                add.append(("args", []))
            if add:
                edits.extend(layout.edits(runtime, add))
    default = _member(text, root, "default-runtime", path, "the top level", fold=True)
    if default_runtime:
        if default is None:
            root_add.append(("default-runtime", RUNTIME_NAME))
        elif data["default-runtime"] != RUNTIME_NAME:
            edits.append((default.start, default.end, json.dumps(RUNTIME_NAME)))
    elif default is not None and data["default-runtime"] == RUNTIME_NAME:
        root_remove.append("default-runtime")
    if cdi:
        features = _member(text, root, "features", path, "the top level", fold=True)
        if features is None:
            root_add.append(("features", OrderedDict([("cdi", True)])))
        elif _is_null(text, features):
            edits.append(_replace_null(layout, root, features, OrderedDict([("cdi", True)])))
        elif features.members is None:
            raise ConfigError('%s: "features" is not an object; fix it, it was left as it is' % path)
        else:
            flag = _member(text, features, "cdi", path, '"features"')
            if flag is None:
                edits.extend(layout.edits(features, [("cdi", True)]))
            elif text[flag.start:flag.end] != "true":
                edits.append((flag.start, flag.end, "true"))
    if root_add or root_remove:
        edits.extend(layout.edits(root, root_add, root_remove))
    return _splice(text, edits) if edits else text


# containerd --------------------------------------------------------------------------------------------------


def toml_loads(text, path="config.toml"):
    if _toml is None:
        raise ConfigError("reading %s needs Python 3.11 or the tomli module on the host" % path)
    try:
        return check_depth(_toml.loads(text), path)
    except ValueError as exc:
        raise ConfigError("%s is not valid TOML (%s); fix it, it was left as it is" % (path, exc))
    except _RECURSION_ERRORS:
        raise _too_deep(path)


def _toml_key(key):
    return key if _BARE_KEY_RE.match(key) else json.dumps(key)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join("%s = %s" % (_toml_key(k), _toml_value(v)) for k, v in value.items()) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ConfigError("cannot write a TOML value of type %s" % type(value).__name__)


def toml_dumps(data, prefix=()):
    """TOML text for nested dicts: plain keys first, then one [table] per sub-dict, arrays of tables as [[...]]."""
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            tables.append((key, value))
        else:
            lines.append("%s = %s" % (_toml_key(key), _toml_value(value)))
    for key, value in tables:
        name = ".".join(_toml_key(part) for part in prefix + (key,))
        if isinstance(value, list):
            for item in value:
                lines.extend(["", "[[%s]]" % name])
                lines.extend(toml_dumps(item, prefix + (key,)).split("\n"))
            continue
        scalars = [k for k, v in value.items() if not isinstance(v, (dict, list)) or
                   (isinstance(v, list) and not (v and all(isinstance(i, dict) for i in v)))]
        if scalars or not value:
            lines.extend(["", "[%s]" % name])
        lines.extend(toml_dumps(value, prefix + (key,)).split("\n") if value else [])
    text = "\n".join(lines)
    return (text.lstrip("\n") if not prefix else text) + ("\n" if lines and not prefix else "")


def containerd_major(version_output):
    """containerd's major.minor from `containerd --version`, as a tuple; (0, 0) when unknown."""
    match = re.search(r"\bv?([0-9]+)\.([0-9]+)\.[0-9]+", version_output or "")
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def config_version(config, release):
    """The configuration version to write: the main config's own, else the one the installed containerd reads."""
    if config:
        version = config.get("version")
        if version in (2, 3):
            return version
        raise ConfigError(
            "the containerd configuration has version %s; only versions 2 and 3 are supported: run "
            "`containerd config migrate` and put its output in place first" % (version if version else "1 (no version key)"))
    return 3 if release >= (2, 0) else 2


def _merge(into, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def runtime_settings(version, runtime_path, default_runtime=False, cdi=False):
    """The plugin settings the drop-in adds: the nvidia runtime, optionally the default and CDI."""
    plugin = CRI_RUNTIME_PLUGIN[version]
    runtime = OrderedDict([("runtime_type", "io.containerd.runc.v2"),
                           ("options", OrderedDict([("BinaryName", runtime_path)]))])
    containerd = OrderedDict()
    if default_runtime:
        containerd["default_runtime_name"] = RUNTIME_NAME
    containerd["runtimes"] = OrderedDict([(RUNTIME_NAME, runtime)])
    settings = OrderedDict()
    if cdi:
        settings["enable_cdi"] = True
        settings["cdi_spec_dirs"] = list(CDI_SPEC_DIRS)
    settings["containerd"] = containerd
    return {plugin: settings}


def containerd_drop_in(version, runtime_path, default_runtime=False, cdi=False, carried=None):
    """The drop-in's text.

    ``carried`` is the CRI plugin's table as the operator's files set it. containerd before 2.0 replaces a whole
    plugin table with an imported one instead of merging the keys, so for those releases the drop-in carries the
    operator's settings along with the runtime (pass None for 2.0 and later, which merge key by key).
    """
    plugins = copy.deepcopy(carried) if carried else {}
    _merge(plugins, runtime_settings(version, runtime_path, default_runtime, cdi))
    header = ("# Managed by dlops.gpu (container_toolkit role): the NVIDIA runtime for containerd.\n"
              "# Imported by the main configuration; edit the main configuration, not this file.\n")
    return header + "version = %d\n\n" % version + toml_dumps({"plugins": plugins})


# containerd's imports, resolved as containerd resolves them (services/server/config/config.go, resolveImports
# and LoadConfig): a path is cleaned and, when relative, joined to the folder of the file that imports it; one
# holding "*" is then expanded by filepath.Glob (names sorted per folder, "*" matching names that start with a dot
# too); files are loaded breadth first from the main configuration, each path once. containerd before 1.7 globs
# a relative pattern as it is written, against its working directory (/ under systemd), not the file's folder.
# Every 1.x release replaces a whole plugin table with an imported one (mergeConfig: "Replace entire sections
# instead of merging map's values"); 2.0 merges them key by key.
MERGES_PLUGIN_KEYS = (2, 0)
GLOBS_BESIDE_THE_FILE = (1, 7)


def go_clean(path):
    """Go's filepath.Clean on a POSIX path."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _go_pattern(pattern, where):
    """A Go filepath.Match pattern (one path element) as a compiled regular expression."""
    out, index = [], 0
    bad = ConfigError("%s: %r is not a valid glob pattern (Go filepath.Match): containerd would not start; fix "
                      "it; nothing was changed" % (where, pattern))
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if index >= len(pattern):
                raise bad
            out.append(re.escape(pattern[index]))
            index += 1
        elif char == "[":
            negate = pattern[index:index + 1] == "^"
            index += 1 if negate else 0
            ranges = []
            while True:
                if index >= len(pattern):
                    raise bad
                if pattern[index] == "]" and ranges:
                    index += 1
                    break
                low, index = _go_class_char(pattern, index, bad)
                high = low
                if pattern[index:index + 1] == "-":
                    high, index = _go_class_char(pattern, index + 1, bad)
                    if high < low:
                        raise bad
                ranges.append("%s-%s" % (re.escape(low), re.escape(high)))
            out.append("[%s%s]" % ("^" if negate else "", "".join(ranges)))
        else:
            out.append(re.escape(char))
    return re.compile("".join(out) + r"\Z", re.S)


def _go_class_char(pattern, index, bad):
    if index >= len(pattern) or pattern[index] in "-]":
        raise bad
    if pattern[index] == "\\":
        index += 1
        if index >= len(pattern):
            raise bad
    return pattern[index], index + 1


def go_match(pattern, path, where="imports"):
    """Whether ``path`` matches the glob ``pattern`` element by element, as filepath.Glob would list it."""
    parts, names = [_go_pattern(part, where) for part in pattern.split("/")], path.split("/")
    return len(parts) == len(names) and all(part.match(name) for part, name in zip(parts, names))


def go_glob(pattern, where="imports", also=()):
    """filepath.Glob on the real filesystem, as if the files in ``also`` existed too."""
    for part in pattern.split("/"):
        _go_pattern(part, where)
    if not re.search(r"[*?\[\\]", pattern):
        return [pattern] if (os.path.lexists(pattern) or pattern in also) else []
    folder, name = posixpath.split(pattern)
    folder = "." if not folder else (folder if folder == "/" else folder.rstrip("/") or "/")
    folders = go_glob(folder, where, also=[f for a in also for f in _parents(a)]) \
        if re.search(r"[*?\[\\]", folder) else [folder]
    matches = []
    for base in folders:
        names = set()
        if os.path.isdir(base):
            try:
                names.update(os.listdir(base))
            except OSError:
                pass
        for extra in also:
            for parent in [extra] + _parents(extra):
                if posixpath.dirname(parent) == base:
                    names.add(posixpath.basename(parent))
        regex = _go_pattern(name, where)
        matches.extend(posixpath.join(base, entry) for entry in sorted(names) if regex.match(entry))
    return matches


def _parents(path):
    out = []
    while posixpath.dirname(path) not in (path, ""):
        path = posixpath.dirname(path)
        out.append(path)
    return out


def resolve_imports(parent, imports, also=(), release=MERGES_PLUGIN_KEYS):
    """containerd's resolveImports: the files one configuration's ``imports`` name, in order."""
    out = []
    for pattern in imports:
        path = go_clean(pattern)
        if not path.startswith("/"):
            folder = "/" if "*" in path and release < GLOBS_BESIDE_THE_FILE else posixpath.dirname(parent)
            path = go_clean(posixpath.join(folder, path))
        if "*" in path:
            out.extend(go_glob(path, "%s: imports" % parent, also))
        else:
            out.append(path)
    return out


def _read_text(path):
    try:
        return atomic_file.read(path)
    except atomic_file.FileWriteError as exc:
        raise ConfigError("%s; nothing was changed" % exc)


def _imports_of(config, path):
    imports = config.get("imports", [])
    if not isinstance(imports, list) or not all(isinstance(item, str) for item in imports):
        raise ConfigError("%s: imports must be an array of paths (strings); containerd would not start with it; "
                          "fix it, nothing was changed" % path)
    return imports


def containerd_load_order(main_path, main_text, drop_in, read=_read_text, release=MERGES_PLUGIN_KEYS):
    """The files containerd loads, in its order, as (path, text); the drop-in's text is None (ours).

    ``main_text`` is the main configuration as it would be written; the drop-in counts as present. An import
    that does not exist, is not UTF-8 or not TOML is refused by name: containerd would not start with it.
    """
    main_path, drop_in = go_clean(main_path), go_clean(drop_in)
    loaded, pending, order = set(), [main_path], []
    while pending:
        path, pending = pending[0], pending[1:]
        if path in loaded:
            continue
        loaded.add(path)
        if path == drop_in:
            order.append((path, None))
            continue
        if path == main_path:
            text = main_text
        else:
            data = read(path)
            if data is None:
                raise ConfigError("%s is imported (from %s) but does not exist: containerd would not start; create "
                                  "it or take it out of imports, then run again; nothing was changed"
                                  % (path, order[-1][0] if order else main_path))
            text = decode_text(data, path)
        config = toml_loads(text, path) if text.strip() else {}
        order.append((path, text))
        pending.extend(resolve_imports(path, _imports_of(config, path), also=[drop_in], release=release))
    return order


def drop_in_covered(main_path, main_text, drop_in, read=_read_text, release=MERGES_PLUGIN_KEYS):
    """Whether containerd already loads the drop-in through the main configuration's imports (nested too)."""
    return any(text is None for _path, text in containerd_load_order(main_path, main_text, drop_in, read, release))


def imported_before_drop_in(order, drop_in, version, release):
    """The texts of the operator's imported files loaded before the drop-in.

    containerd before 2.0 replaces a whole plugin table with an imported one: an operator's file loaded after the
    drop-in that sets the CRI plugin would take the runtime away again, so that order is refused.
    """
    names = [path for path, text in order]
    at = names.index(go_clean(drop_in)) if go_clean(drop_in) in names else len(order)
    if release < MERGES_PLUGIN_KEYS:
        plugin = CRI_RUNTIME_PLUGIN[version]
        for path, text in order[at + 1:]:
            if text.strip() and plugin in toml_loads(text, path).get("plugins", {}):
                raise ConfigError(
                    "%s sets the plugin %s and containerd %d.%d loads it after %s, replacing that plugin's table "
                    "with its own: the nvidia runtime would be lost; import it before the drop-in (a name sorting "
                    "before 99-nvidia.toml) or move its settings to the main configuration; nothing was changed"
                    % (path, plugin, release[0], release[1], drop_in))
    return [text for _path, text in order[1:at]]


# TOML text: the top-level keys' spans, so that the imports array is edited in place.

_TOML_WS = " \t"


def _toml_skip(text, pos, newlines=True):
    """Past spaces, comments and (when ``newlines``) line ends."""
    while pos < len(text):
        char = text[pos]
        if char in _TOML_WS or (newlines and char in "\r\n"):
            pos += 1
        elif char == "#":
            while pos < len(text) and text[pos] not in "\r\n":
                pos += 1
        else:
            break
    return pos


def _toml_string(text, pos):
    """The end of the string that starts at ``pos``."""
    for quote in ('"""', "'''"):
        if text.startswith(quote, pos):
            pos += 3
            while True:
                if quote[0] == '"' and text[pos] == "\\":
                    pos += 2
                elif text.startswith(quote, pos):
                    end = pos + 3
                    while end < len(text) and text[end] == quote[0] and end - pos < 5:
                        end += 1
                    return end
                else:
                    pos += 1
    quote = text[pos]
    pos += 1
    while text[pos] != quote:
        pos += 2 if (quote == '"' and text[pos] == "\\") else 1
    return pos + 1


def _scan_value(text, pos):
    """(end, element spans) of the value at ``pos``; element spans only for an array."""
    char = text[pos]
    if char in "\"'":
        return _toml_string(text, pos), None
    if char == "[":
        pos, items = _toml_skip(text, pos + 1), []
        while text[pos] != "]":
            end = _scan_value(text, pos)[0]
            items.append((pos, end))
            pos = _toml_skip(text, end)
            if text[pos] == ",":
                pos = _toml_skip(text, pos + 1)
        return pos + 1, items
    if char == "{":
        pos = _toml_skip(text, pos + 1, False)
        while text[pos] != "}":
            pos = _scan_key(text, pos)[1]
            pos = _toml_skip(text, pos + 1, False)
            pos = _toml_skip(text, _scan_value(text, pos)[0], False)
            if text[pos] == ",":
                pos = _toml_skip(text, pos + 1, False)
        return pos + 1, None
    end = pos
    while end < len(text) and text[end] not in " \t\r\n,]}#":
        end += 1
    return end, None


def _scan_key(text, pos):
    """(dotted key parts, position of the "=") of the key at ``pos``."""
    parts = []
    while True:
        pos = _toml_skip(text, pos, False)
        if text[pos] in "\"'":
            end = _toml_string(text, pos)
            parts.append(toml_loads("k = " + text[pos:end])["k"])
        else:
            end = pos
            while end < len(text) and (text[end].isalnum() or text[end] in "_-") and ord(text[end]) < 128:
                end += 1
            parts.append(text[pos:end])
        pos = _toml_skip(text, end, False)
        if text[pos] != ".":
            return parts, pos
        pos += 1


def toml_top_level(text):
    """The top-level key/value pairs before the first table: (key parts, key start, value start, value end, items)."""
    pairs, pos = [], _toml_skip(text, 0)
    while pos < len(text) and text[pos] != "[":
        parts, equals = _scan_key(text, pos)
        start = _toml_skip(text, equals + 1, False)
        end, items = _scan_value(text, start)
        pairs.append((parts, pos, start, end, items))
        pos = _toml_skip(text, end)
    return pairs


def _line_end(text, pos):
    """The position after the line end that closes the line holding ``pos`` (the text's end when none)."""
    match = re.compile(r"\r\n|\n").search(text, pos)
    return match.end() if match else len(text)


def add_import(text, drop_in, version, path="config.toml"):
    """The main configuration with ``drop_in`` added to its top-level imports; every other byte kept.

    A multi-line array gets the drop-in on a line of its own before the closing bracket, indented as the last
    element and with the array's trailing-comma habit; a one-line array gets it after its last element. Without
    an imports key, an ``imports`` line goes after the version line (an empty or comment-only file gets a version
    line first).
    """
    config = toml_loads(text, path) if text.strip() else {}
    quoted = json.dumps(drop_in)
    newline = "\r\n" if "\r\n" in text else "\n"
    pairs = toml_top_level(text) if text.strip() else []
    found = [pair for pair in pairs if pair[0] == ["imports"]]
    versions = [pair for pair in pairs if pair[0] == ["version"]]
    if found:
        _parts, _key, start, end, items = found[0]
        if items is None:
            raise ConfigError("%s: imports is not an array; containerd would not start with it; fix it, nothing was "
                              "changed" % path)
        close = end - 1
        if not items:
            inner = text[start + 1:close]
            new = text[:start + 1] + quoted + ("," if inner.strip() else "") + text[start + 1:]
        else:
            last_end = items[-1][1]
            after = _toml_skip(text, last_end)
            comma = text[after] == ","
            line_start = max(text.rfind("\n", 0, close), text.rfind("\r", 0, close)) + 1
            own_line = (re.search(r"[\r\n]", text[last_end:close]) is not None
                        and not text[line_start:close].strip(_TOML_WS))
            if own_line:
                item_line = max(text.rfind("\n", 0, items[-1][0]), text.rfind("\r", 0, items[-1][0])) + 1
                indent = re.match(r"[ \t]*", text[item_line:items[-1][0]]).group(0)
                tail = "," if comma else ""
                lead = "" if comma else ","
                new = (text[:last_end] + lead + text[last_end:line_start] + indent + quoted + tail + newline
                       + text[line_start:])
            elif comma:
                new = text[:after + 1] + " " + quoted + "," + text[after + 1:]
            else:
                new = text[:last_end] + ", " + quoted + text[last_end:]
    else:
        if versions:
            at = _line_end(text, versions[0][3])
            line = "imports = [%s]" % quoted
            new = (text[:at] + line + newline + text[at:]) if at < len(text) or text.endswith(("\n", "\r")) \
                else text + newline + line + newline
        else:
            new = "version = %d%simports = [%s]%s" % (version, newline, quoted, newline) + text
    wanted = dict(config)
    wanted["imports"] = list(config.get("imports", [])) + [drop_in]
    if not found and not versions:
        wanted["version"] = version
    if toml_loads(new, path) != wanted:
        raise ConfigError("%s: the imports line could not be extended safely; add %s to its imports by hand, then "
                          "run again; nothing was changed" % (path, quoted))
    return new


def containerd_main_config(text, drop_in, version, covered=None, path="/etc/containerd/config.toml"):
    """The main configuration with the drop-in in its imports; the text itself when containerd loads it already.

    ``covered`` says whether the imports (nested ones too) already reach the drop-in (drop_in_covered); None
    decides from this file's own imports, resolved against ``path``'s folder.
    """
    if covered is None:
        config = toml_loads(text, path) if text.strip() else {}
        drop = go_clean(drop_in)
        covered = any(item == drop or ("*" in item and go_match(item, drop, path))
                      for item in (_resolved(path, pattern) for pattern in _imports_of(config, path)))
    return text if covered else add_import(text, drop_in, version, path)


def _resolved(parent, pattern):
    path = go_clean(pattern)
    return path if path.startswith("/") else go_clean(posixpath.join(posixpath.dirname(parent), path))


def carried_cri(main_text, imported_texts, version):
    """The operator's CRI plugin table as containerd before 2.0 would load it: the last file that sets it wins."""
    plugin = CRI_RUNTIME_PLUGIN[version]
    table = None
    for text in [main_text] + list(imported_texts):
        config = toml_loads(text) if text.strip() else {}
        if plugin in config.get("plugins", {}):
            table = config["plugins"][plugin]
    return {plugin: table} if table else None


def dumped_runtime(dump_text, version):
    """The nvidia runtime's BinaryName in `containerd config dump` output, None when it is not there."""
    config = toml_loads(dump_text, "containerd config dump")
    plugins = config.get("plugins", {})
    # containerd 2 dumps version 3 plugins; 1.x version 2 ones.
    for plugin in (CRI_RUNTIME_PLUGIN[version],) + tuple(CRI_RUNTIME_PLUGIN.values()):
        runtime = plugins.get(plugin, {}).get("containerd", {}).get("runtimes", {}).get(RUNTIME_NAME)
        if runtime:
            return runtime.get("options", {}).get("BinaryName")
    return None
