# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NVIDIA runtime merged into Docker's daemon.json and containerd's configuration, standard library only.

Pure functions from the files' current text to their wanted text: every setting the operator has stays as it
was, and a file that already holds what is wanted comes back byte for byte.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import fnmatch
import json
import re
from collections import OrderedDict

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
_TABLE_RE = re.compile(r"^\s*\[")
_IMPORTS_RE = re.compile(r"^imports\s*=\s*\[(.*)\]\s*(#.*)?$")
_VERSION_RE = re.compile(r"^version\s*=\s*[0-9]+\s*(#.*)?$")


class ConfigError(Exception):
    """A configuration file the engine would not read either: nothing is written."""


# Docker ------------------------------------------------------------------------------------------------------


def json_indent(text):
    """The indentation a JSON file uses (tab or N spaces), None when it has no indented line."""
    for line in text.splitlines():
        match = re.match(r"^([ \t]+)\S", line)
        if match:
            return "\t" if match.group(1).startswith("\t") else len(match.group(1))
    return None


def docker_daemon_config(text, runtime_path, default_runtime=False, cdi=False, path="daemon.json"):
    """daemon.json with the nvidia runtime merged in.

    ``text`` is the file's content ("" when absent). Every other key is kept in its place. default_runtime
    true makes nvidia the default; false takes back a default of nvidia and leaves any other default alone.
    cdi true turns on the CDI feature flag; false leaves the features as they are.
    """
    try:
        data = json.loads(text, object_pairs_hook=OrderedDict) if text.strip() else OrderedDict()
    except ValueError as exc:
        raise ConfigError("%s is not valid JSON (%s); fix or remove it, it was left as it is" % (path, exc))
    if not isinstance(data, dict):
        raise ConfigError("%s holds a JSON %s, not an object; fix it, it was left as it is"
                          % (path, type(data).__name__))
    wanted = copy.deepcopy(data)
    runtimes = wanted.setdefault("runtimes", OrderedDict())
    if not isinstance(runtimes, dict):
        raise ConfigError('%s: "runtimes" is not an object; fix it, it was left as it is' % path)
    runtime = runtimes.get(RUNTIME_NAME)
    runtime = runtime if isinstance(runtime, dict) else OrderedDict()
    runtime["path"] = runtime_path
    runtime.setdefault("args", [])
    runtimes[RUNTIME_NAME] = runtime
    if default_runtime:
        wanted["default-runtime"] = RUNTIME_NAME
    elif wanted.get("default-runtime") == RUNTIME_NAME:
        del wanted["default-runtime"]
    if cdi:
        features = wanted.setdefault("features", OrderedDict())
        if not isinstance(features, dict):
            raise ConfigError('%s: "features" is not an object; fix it, it was left as it is' % path)
        features["cdi"] = True
    if wanted == data and text.strip():
        return text
    indent = json_indent(text) or 4
    return json.dumps(wanted, indent=indent, separators=(",", ": ")) + "\n"


# containerd --------------------------------------------------------------------------------------------------


def toml_loads(text, path="config.toml"):
    if _toml is None:
        raise ConfigError("reading %s needs Python 3.11 or the tomli module on the host" % path)
    try:
        return _toml.loads(text)
    except ValueError as exc:
        raise ConfigError("%s is not valid TOML (%s); fix it, it was left as it is" % (path, exc))


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

    ``carried`` is the CRI plugin's table as the operator's files set it. containerd before 1.7 replaces a whole
    plugin table with an imported one instead of merging the keys, so for those releases the drop-in carries the
    operator's settings along with the runtime (pass None for 1.7 and later, which merge key by key).
    """
    plugins = copy.deepcopy(carried) if carried else {}
    _merge(plugins, runtime_settings(version, runtime_path, default_runtime, cdi))
    header = ("# Managed by dlops.gpu (container_toolkit role): the NVIDIA runtime for containerd.\n"
              "# Imported by the main configuration; edit the main configuration, not this file.\n")
    return header + "version = %d\n\n" % version + toml_dumps({"plugins": plugins})


def _imports_cover(imports, drop_in):
    return any(fnmatch.fnmatch(drop_in, pattern) for pattern in imports or [])


def containerd_main_config(text, drop_in, version):
    """The main configuration with the drop-in in its top-level imports; the text unchanged when it is there."""
    config = toml_loads(text) if text.strip() else {}
    if _imports_cover(config.get("imports"), drop_in):
        return text
    lines = text.splitlines()
    first_table = next((i for i, line in enumerate(lines) if _TABLE_RE.match(line)), len(lines))
    quoted = json.dumps(drop_in)
    for index in range(first_table):
        match = _IMPORTS_RE.match(lines[index].strip())
        if match:
            inner = match.group(1).strip().rstrip(",")
            lines[index] = "imports = [%s]" % (inner + ", " + quoted if inner else quoted)
            return "\n".join(lines) + "\n"
    at = next((i + 1 for i in range(first_table) if _VERSION_RE.match(lines[i].strip())), None)
    if at is None:
        # An empty or comment-only file: give it the version too.
        lines[0:0] = ["version = %d" % version]
        at = 1
    lines.insert(at, "imports = [%s]" % quoted)
    return "\n".join(lines) + "\n"


def carried_cri(main_text, imported_texts, version):
    """The operator's CRI plugin table as containerd before 1.7 would load it: the last file that sets it wins."""
    plugin = CRI_RUNTIME_PLUGIN[version]
    table = None
    for text in [main_text] + list(imported_texts):
        config = toml_loads(text) if text.strip() else {}
        if plugin in config.get("plugins", {}):
            table = config["plugins"][plugin]
    return {plugin: table} if table else None


def import_patterns(main_text, drop_in):
    """The main configuration's imports other than the drop-in itself, in order."""
    config = toml_loads(main_text) if main_text.strip() else {}
    return [pattern for pattern in config.get("imports", []) if pattern != drop_in]


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
