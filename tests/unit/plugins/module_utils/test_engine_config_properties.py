"""Property tests: whatever daemon.json or containerd configuration the merge takes comes back byte for byte
outside what the collection owns; whatever it refuses, it refuses with ConfigError (never another exception)."""

import json
import tomllib

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.dlops.gpu.plugins.module_utils import engine_config
from ansible_collections.dlops.gpu.plugins.module_utils.engine_config import ConfigError

RUNTIME = "/usr/bin/nvidia-container-runtime"
DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"
OURS = ("runtimes", "default-runtime", "features")
FAST = settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))

keys = st.one_of(st.sampled_from(["log-driver", "data-root", "x", "runtimes", "features", "default-runtime",
                                  "nvidia", "path", "args", "cdi", "Runtimes", "caf\u00e9", "\u2713"]),
                 st.text(min_size=0, max_size=6))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6), st.text(max_size=8),
                    st.sampled_from(["nvidia", "runc", RUNTIME, "\u00e9\u00e8\r\n\t"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(st.tuples(keys, inner), max_size=4)), max_leaves=12)


@st.composite
def json_texts(draw):
    """A JSON object written in a random style: indentation, separators, line ends, escapes, duplicate keys."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", ""]))
    indent = draw(st.sampled_from(["", " ", "  ", "    ", "\t", " \t"]))
    colon = draw(st.sampled_from([": ", ":", " : ", ":\t"]))
    ascii_only = draw(st.booleans())

    def write(value, depth):
        if isinstance(value, list) and all(isinstance(item, tuple) for item in value) and value:
            pad = newline + indent * (depth + 1) if newline else draw(st.sampled_from(["", " "]))
            members = [pad + json.dumps(key, ensure_ascii=ascii_only) + colon + write(item, depth + 1)
                       for key, item in value]
            return "{" + ",".join(members) + (newline + indent * depth if newline else "") + "}"
        if isinstance(value, list):
            return "[" + ", ".join(write(item, depth + 1) for item in value) + "]"
        return json.dumps(value, ensure_ascii=ascii_only)

    members = draw(st.lists(st.tuples(keys, values), max_size=6))
    text = write(members, 0) if members else draw(st.sampled_from(["{}", "{ }", "{" + newline + "}"]))
    return draw(st.sampled_from(["", " ", newline])) + text + draw(st.sampled_from(["", newline, " \n"]))


def without_ours(data):
    return dict((key, value) for key, value in data.items() if key not in OURS)


def skeleton(text):
    """The text with the top-level members we own cut out (each with the comma that joins it to the others)."""
    while True:
        root = engine_config.parse_json(text, "daemon.json")[1]
        if not [member for member in root.members if member[0] not in OURS]:
            return text[:root.start] + "{}" + text[root.end:]
        owned = [index for index, member in enumerate(root.members) if member[0] in OURS]
        if not owned:
            return text
        index = owned[0]
        if index == 0:
            text = text[:root.members[0][1]] + text[root.members[1][1]:]
        else:
            text = text[:root.members[index - 1][2].end] + text[root.members[index][2].end:]


@FAST
@given(json_texts(), st.booleans(), st.booleans())
def test_daemon_json_keeps_everything_it_does_not_own(text, default_runtime, cdi):
    try:
        after = engine_config.docker_daemon_config(text, RUNTIME, default_runtime, cdi)
    except ConfigError:
        return  # refused: the caller writes nothing
    data = json.loads(after)
    assert without_ours(data) == without_ours(json.loads(text)) if text.strip() else True
    assert data["runtimes"]["nvidia"]["path"] == RUNTIME
    assert (data.get("default-runtime") == "nvidia") if default_runtime else data.get("default-runtime") != "nvidia"
    if cdi:
        assert data["features"]["cdi"] is True
    if text.strip():
        # Outside the members we own, the text is the same, byte for byte.
        assert skeleton(after) == skeleton(text)
    again = engine_config.docker_daemon_config(after, RUNTIME, default_runtime, cdi)
    assert again is after


@FAST
@given(st.binary(max_size=40))
def test_any_bytes_are_taken_or_refused_with_config_error(data):
    try:
        engine_config.docker_daemon_config(engine_config.decode_text(data, "daemon.json"), RUNTIME)
    except ConfigError:
        pass


paths = st.sampled_from(["a.toml", "/etc/containerd/site.d/*.toml", "conf.d/*.conf", "x \u00e9.toml", 'q"uote'])
comments = st.sampled_from(["", " # c", "  # [\"not\", \"this\"]", "\t#"])


@st.composite
def toml_texts(draw):
    """A version 2 main configuration with an imports array laid out at random (or none)."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [draw(st.sampled_from(["", "# head", 'root = "/srv/c"']))]
    lines.append("version = 2" + draw(comments))
    if draw(st.booleans()):
        items = draw(st.lists(paths, max_size=4))
        multi = draw(st.booleans())
        trailing = draw(st.booleans()) and items
        indent = draw(st.sampled_from(["  ", "\t", "    "]))
        rendered = [json.dumps(item) for item in items]
        if multi:
            body = newline.join(indent + item + ("," if i < len(rendered) - 1 or trailing else "") + draw(comments)
                                for i, item in enumerate(rendered))
            lines.append("imports = [" + draw(comments) + newline + body + (newline if body else "") + "]")
        else:
            lines.append("imports = [" + ", ".join(rendered) + ("," if trailing else "") + "]" + draw(comments))
    lines.append(draw(st.sampled_from(["", 'state = "/run/c"', 'x = """a\n]b"""'])))
    lines.append(draw(st.sampled_from(["", '[plugins."io.containerd.grpc.v1.cri"]' + newline + '  sandbox_image = "p"'])))
    return newline.join(line.replace("\n", newline) for line in lines) + newline


@FAST
@given(toml_texts())
def test_containerd_main_config_only_gains_the_import(text):
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    after = engine_config.containerd_main_config(text, DROP_IN, 2)
    if after is text:
        return
    parsed = tomllib.loads(after)
    assert parsed.pop("imports") == before.pop("imports", []) + [DROP_IN]
    assert parsed == before
    # Only insertions: every character of the original is still there, in order.
    assert _is_subsequence(text, after)
    assert engine_config.containerd_main_config(after, DROP_IN, 2) is after


def _is_subsequence(short, long):
    it = iter(long)
    return all(char in it for char in short)
