"""The nvidia runtime merged into Docker's and containerd's configuration, keeping the operator's bytes."""

import json
import os
import tomllib

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import engine_config
from ansible_collections.dlops.gpu.plugins.module_utils.engine_config import ConfigError
from ...conftest import FIXTURES

ENGINES = os.path.join(FIXTURES, "engines")
RUNTIME = "/usr/bin/nvidia-container-runtime"
DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"


def fixture(name):
    with open(os.path.join(ENGINES, name), "rb") as handle:
        return handle.read().decode("utf-8")


def crlf(text):
    """The repository keeps fixtures with LF line ends (ansible-test's line-endings check): CRLF is made here."""
    return text.replace("\n", "\r\n")


def only_insertion(before, after):
    """The text ``after`` adds to ``before`` at one place: (offset, inserted); every other byte is the same."""
    head = 0
    while head < len(before) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < len(before) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    assert head + tail == len(before), "bytes of the original were changed, not only added to"
    return head, after[head:len(after) - tail]


def snapshot(root):
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[path] = handle.read()
    return found


def test_daemon_json_keeps_every_key_in_place_and_its_tab_indent():
    seeded = fixture("daemon-seeded.json")
    merged = engine_config.docker_daemon_config(seeded, RUNTIME)
    before, after = json.loads(seeded), json.loads(merged)
    assert list(after) == list(before) + ["runtimes"]
    assert {key: after[key] for key in before} == before
    assert after["runtimes"] == {"nvidia": {"path": RUNTIME, "args": []}}
    assert "\n\t\"runtimes\": {" in merged and merged.endswith("}\n")
    assert "default-runtime" not in after and "features" not in after


def test_daemon_json_already_merged_comes_back_byte_for_byte():
    merged = engine_config.docker_daemon_config(fixture("daemon-seeded.json"), RUNTIME)
    assert engine_config.docker_daemon_config(merged, RUNTIME) is merged


def test_daemon_json_absent_or_empty_gets_four_spaces():
    for text in ("", "  \n"):
        assert engine_config.docker_daemon_config(text, RUNTIME) == (
            '{\n    "runtimes": {\n        "nvidia": {\n            "path": "%s",\n'
            '            "args": []\n        }\n    }\n}\n' % RUNTIME)


def test_default_runtime_and_cdi_on_then_default_taken_back():
    on = json.loads(engine_config.docker_daemon_config("{}", RUNTIME, default_runtime=True, cdi=True))
    assert on["default-runtime"] == "nvidia" and on["features"] == {"cdi": True}
    off = json.loads(engine_config.docker_daemon_config(json.dumps(on), RUNTIME))
    assert "default-runtime" not in off and off["features"] == {"cdi": True}


def test_another_default_runtime_is_left_alone():
    text = json.dumps({"default-runtime": "crun", "runtimes": {"crun": {"path": "/usr/bin/crun"}}})
    after = json.loads(engine_config.docker_daemon_config(text, RUNTIME))
    assert after["default-runtime"] == "crun" and set(after["runtimes"]) == {"crun", "nvidia"}


def test_existing_nvidia_runtime_keeps_its_extra_settings():
    text = json.dumps({"runtimes": {"nvidia": {"path": "/opt/old/runtime", "runtimeArgs": ["--debug"]}}})
    runtime = json.loads(engine_config.docker_daemon_config(text, RUNTIME))["runtimes"]["nvidia"]
    assert runtime == {"path": RUNTIME, "runtimeArgs": ["--debug"], "args": []}


@pytest.mark.parametrize("text, message", [
    ('{"log-driver": "json-file",}', "is not valid JSON"),
    ('["not", "an", "object"]', "holds a JSON list"),
    ('{"runtimes": ["nvidia"]}', '"runtimes" is not an object'),
])
def test_broken_daemon_json_fails_saying_so(text, message):
    with pytest.raises(ConfigError, match=message):
        engine_config.docker_daemon_config(text, RUNTIME, path="/etc/docker/daemon.json")


def test_debian_config_gets_the_import_after_its_version_line():
    debian = fixture("containerd-debian12-config.toml")
    after = engine_config.containerd_main_config(debian, DROP_IN, 2)
    assert after.splitlines()[:2] == ["version = 2", 'imports = ["%s"]' % DROP_IN]
    assert after.splitlines()[2:] == debian.splitlines()[1:]
    assert engine_config.containerd_main_config(after, DROP_IN, 2) is after


def test_existing_imports_line_is_extended_and_a_covering_glob_is_enough():
    operator = fixture("containerd-operator-config.toml")
    after = engine_config.containerd_main_config(operator, DROP_IN, 2)
    assert tomllib.loads(after)["imports"] == ["/etc/containerd/site.d/*.toml", DROP_IN]
    assert len(after.splitlines()) == len(operator.splitlines())
    globbed = operator.replace("/etc/containerd/site.d/*.toml", "/etc/containerd/conf.d/*.toml")
    assert engine_config.containerd_main_config(globbed, DROP_IN, 2) is globbed


def test_absent_or_comment_only_main_config_gets_version_and_import():
    assert engine_config.containerd_main_config("", DROP_IN, 3) == 'version = 3\nimports = ["%s"]\n' % DROP_IN
    after = engine_config.containerd_main_config("# nothing here\n", DROP_IN, 2)
    assert tomllib.loads(after) == {"version": 2, "imports": [DROP_IN]}


@pytest.mark.parametrize("config, release, version", [
    ({}, (1, 6), 2), ({}, (1, 7), 2), ({}, (2, 1), 3), ({"version": 3}, (1, 7), 3), ({"version": 2}, (2, 0), 2)])
def test_config_version(config, release, version):
    assert engine_config.config_version(config, release) == version


def test_version_1_config_fails_with_the_way_out():
    with pytest.raises(ConfigError, match="containerd config migrate"):
        engine_config.config_version({"plugins": {"cri": {}}}, (1, 6))


def test_containerd_version_from_its_output():
    assert engine_config.containerd_major("containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1") == (1, 6)
    assert engine_config.containerd_major("containerd containerd.io v2.1.4 75cb2b7") == (2, 1)
    assert engine_config.containerd_major("") == (0, 0)


@pytest.mark.parametrize("version, plugin", [(2, "io.containerd.grpc.v1.cri"), (3, "io.containerd.cri.v1.runtime")])
def test_drop_in_per_config_version(version, plugin):
    text = engine_config.containerd_drop_in(version, RUNTIME, default_runtime=True, cdi=True)
    config = tomllib.loads(text)
    assert config["version"] == version
    cri = config["plugins"][plugin]
    assert cri["containerd"]["runtimes"]["nvidia"] == {
        "runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": RUNTIME}}
    assert cri["containerd"]["default_runtime_name"] == "nvidia"
    assert cri["enable_cdi"] is True and cri["cdi_spec_dirs"] == ["/etc/cdi", "/var/run/cdi"]
    assert list(config["plugins"]) == [plugin]


def test_drop_in_carries_the_operators_cri_table_for_old_containerd():
    operator = fixture("containerd-operator-config.toml")
    site = '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.example.internal/pause:3.10"\n'
    carried = engine_config.carried_cri(operator, [], 2)
    config = tomllib.loads(engine_config.containerd_drop_in(2, RUNTIME, carried=carried))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "registry.example.internal/pause:3.9"
    assert cri["registry"] == {"config_path": "/etc/containerd/certs.d"}
    assert cri["containerd"]["default_runtime_name"] == "runc"
    assert cri["containerd"]["runtimes"]["runc"]["options"] == {"SystemdCgroup": True}
    assert cri["containerd"]["runtimes"]["nvidia"]["options"] == {"BinaryName": RUNTIME}
    # An imported file that sets the plugin replaces it, as containerd before 2.0 does.
    assert engine_config.carried_cri(operator, [site], 2) == {
        "io.containerd.grpc.v1.cri": {"sandbox_image": "registry.example.internal/pause:3.10"}}


def test_toml_writer_round_trips_nested_tables_and_arrays_of_tables():
    data = {"a": 1, "b": {"c": "x\"y", "d": [1, 2], "e": {"f": True}},
            "g": [{"h": 1}, {"h": 2, "i": {"j": 0.5}}], "k.l": {}}
    assert tomllib.loads(engine_config.toml_dumps(data)) == data


def test_dumped_runtime_reads_config_dump_output():
    dump = engine_config.containerd_drop_in(2, RUNTIME)
    assert engine_config.dumped_runtime(dump, 2) == RUNTIME
    assert engine_config.dumped_runtime(fixture("containerd-debian12-config.toml"), 2) is None
    with pytest.raises(ConfigError, match="not valid TOML"):
        engine_config.dumped_runtime("[plugins", 2)


def test_daemon_json_crlf_non_ascii_and_other_duplicates_kept_byte_for_byte():
    before = crlf(fixture("daemon-crlf-nonascii.json"))
    after = engine_config.docker_daemon_config(before, RUNTIME)
    at, added = only_insertion(before, after)
    assert added == ',\r\n\t\t"nvidia": {\r\n\t\t\t"path": "%s",\r\n\t\t\t"args": []\r\n\t\t}' % RUNTIME
    assert before[:at].endswith('{"path": "/usr/bin/crun"}')
    assert "\\u00e9" in after and "caf\u00e9" in after and "\\u00e9" not in json.dumps(RUNTIME)
    assert list(json.loads(after)) == ["x-note", "log-opts", "runtimes", "data-root"]


def test_daemon_json_default_runtime_and_cdi_spliced_in_the_files_style():
    before = crlf(fixture("daemon-crlf-nonascii.json"))
    after = engine_config.docker_daemon_config(before, RUNTIME, default_runtime=True, cdi=True)
    assert after.endswith('"data-root": "/srv/docker",\r\n\t"default-runtime": "nvidia",\r\n\t"features": {\r\n'
                          '\t\t"cdi": true\r\n\t}\r\n}\r\n')
    back = engine_config.docker_daemon_config(after, RUNTIME, cdi=True)
    assert back == after.replace(',\r\n\t"default-runtime": "nvidia"', "")
    assert engine_config.docker_daemon_config(back, RUNTIME, cdi=True) is back


def test_daemon_json_one_line_file_stays_one_line():
    before = '{"b":1,"a":{"z":2,"y":3}}'
    after = engine_config.docker_daemon_config(before, RUNTIME, default_runtime=True)
    assert after == '{"b":1,"a":{"z":2,"y":3}, "runtimes":{"nvidia":{"path":"%s", "args":[]}}, ' \
                    '"default-runtime":"nvidia"}' % RUNTIME


def test_daemon_json_only_the_runtime_path_value_is_replaced():
    before = '{\n  "runtimes": {\n     "nvidia" :{ "args": ["-x"],  "path":"/opt/old", "env": "\u00fc" }\n  }\n}\n'
    after = engine_config.docker_daemon_config(before, RUNTIME)
    assert after == before.replace('"/opt/old"', '"%s"' % RUNTIME)


@pytest.mark.parametrize("text, message", [
    (fixture("daemon-duplicate-runtimes.json"), '"the top level holds "runtimes", "runtimes"'),
    ('{"Runtimes": {}}', 'holds "Runtimes": dockerd .* reads it as one key without case'),
    ('{"runtimes": {"nvidia": {"path": "/a"}, "nvidia": {"path": "/b"}}}', '"runtimes" holds "nvidia", "nvidia"'),
    ('{"runtimes": {"nvidia": {"Path": "/a"}}}', 'holds "Path"'),
    ('{"default-runtime": "runc", "Default-Runtime": "nvidia"}', 'holds "default-runtime", "Default-Runtime"'),
    ('{"log-level": NaN}', "NaN is not JSON"),
])
def test_keys_we_own_given_twice_or_odd_json_are_refused(text, message):
    with pytest.raises(ConfigError, match=message.replace('"the', "the").replace("(", r"\(")):
        engine_config.docker_daemon_config(text, RUNTIME, path="/etc/docker/daemon.json")


def test_duplicates_of_keys_not_ours_are_kept():
    before = '{"log-level": "info", "log-level": "debug"}'
    after = engine_config.docker_daemon_config(before, RUNTIME)
    assert after.startswith('{"log-level": "info", "log-level": "debug", "runtimes": ')


@pytest.mark.parametrize("data, message", [
    (b"{\xff}", r"is not UTF-8 text \(byte 0xff at offset 1, line 1\)"),
    (b"\xef\xbb\xbf{}", "starts with a UTF-8 byte order mark"),
])
def test_files_that_are_not_utf8_are_refused_by_name(data, message):
    with pytest.raises(ConfigError, match="/etc/docker/daemon.json " + message):
        engine_config.decode_text(data, "/etc/docker/daemon.json")


def test_multi_line_imports_with_comments_get_the_drop_in_before_the_bracket():
    before = fixture("containerd-multiline-imports.toml")
    after = engine_config.containerd_main_config(before, DROP_IN, 2, path="/etc/containerd/config.toml")
    _at, added = only_insertion(before, after)
    assert added == '  "%s",\n' % DROP_IN
    assert tomllib.loads(after)["imports"] == ["site.d/10-site.toml", "conf.d/*.conf", DROP_IN]


@pytest.mark.parametrize("before, added", [
    ('version = 2\nimports = [\n  "a.toml"  # one\n]\n',
     [(len('version = 2\nimports = [\n  "a.toml"'), ","), (None, '  "%s"\n' % DROP_IN)]),
    ('version = 2\r\nimports = ["a.toml",]\r\n', [(None, ' "%s",' % DROP_IN)]),
    ('version = 2\nimports = [ ]\n', [(None, '"%s"' % DROP_IN)]),
    ('version = 2 # two\n\n[plugins]\n', [(None, 'imports = ["%s"]\n' % DROP_IN)]),
    ('version = 2\r\n[plugins]\r\n', [(None, 'imports = ["%s"]\r\n' % DROP_IN)]),
])
def test_imports_edited_in_place_nothing_else(before, added):
    after = engine_config.containerd_main_config(before, DROP_IN, 2)
    assert tomllib.loads(after)["imports"][-1] == DROP_IN
    rest = after
    for offset, text in added:
        at = rest.index(text, offset or 0) if offset is None else offset
        assert rest[at:at + len(text)] == text
        rest = rest[:at] + rest[at + len(text):]
    assert rest == before


def test_a_relative_glob_covers_the_drop_in_against_the_configs_folder():
    text = 'version = 2\nimports = [\n  "conf.d/*.toml",\n]\n'
    assert engine_config.containerd_main_config(text, DROP_IN, 2, path="/etc/containerd/config.toml") is text
    # Joined to the importing file's folder: from /srv/node/config.toml it names /srv/node/conf.d.
    assert engine_config.containerd_main_config(text, DROP_IN, 2, path="/srv/node/config.toml") != text
    for pattern in ("/etc/containerd/conf.d/9?-*.toml", "/etc/containerd/*/[0-9]*.toml", "../containerd/conf.d/*"):
        text = 'version = 2\nimports = ["%s"]\n' % pattern
        assert engine_config.containerd_main_config(text, DROP_IN, 2, path="/etc/containerd/config.toml") is text
    for pattern in ("/etc/containerd/conf.d/[a-z]*.toml", "/etc/containerd/conf.d/*.conf", "/etc/*/99-nvidia.toml"):
        text = 'version = 2\nimports = ["%s"]\n' % pattern
        assert engine_config.containerd_main_config(text, DROP_IN, 2) != text


def test_bad_glob_and_non_array_imports_are_refused():
    with pytest.raises(ConfigError, match="not a valid glob pattern"):
        engine_config.containerd_main_config('version = 2\nimports = ["/etc/x/[*.toml"]\n', DROP_IN, 2)
    with pytest.raises(ConfigError, match="imports must be an array of paths"):
        engine_config.containerd_main_config('version = 2\nimports = "/etc/x.toml"\n', DROP_IN, 2)


def tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(tmp_path)


CRI = "io.containerd.grpc.v1.cri"


def test_load_order_relative_globs_nested_and_each_file_once(tmp_path):
    root = tree(tmp_path, {
        "etc/config.toml": fixture("containerd-multiline-imports.toml"),
        "etc/site.d/10-site.toml": 'version = 2\nimports = ["../nested/*.toml", "10-site.toml"]\n',
        "etc/conf.d/b.conf": 'version = 2\n[plugins."%s"]\n  sandbox_image = "b"\n' % CRI,
        "etc/conf.d/.a.conf": 'version = 2\n[plugins."%s".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n'
                              % CRI,
        "etc/nested/x.toml": 'version = 2\nimports = ["/%s/etc/config.toml"]\n' % str(tmp_path).strip("/"),
    })
    main = os.path.join(root, "etc/config.toml")
    drop = os.path.join(root, "etc/conf.d/99-nvidia.toml")
    before = snapshot(root)
    text = fixture("containerd-multiline-imports.toml")
    assert not engine_config.drop_in_covered(main, text, drop)
    after = engine_config.containerd_main_config(text, drop, 2, covered=False, path=main)
    order = engine_config.containerd_load_order(main, after, drop)
    assert [os.path.relpath(path, root) for path, _text in order] == [
        "etc/config.toml", "etc/site.d/10-site.toml", "etc/conf.d/.a.conf", "etc/conf.d/b.conf",
        "etc/conf.d/99-nvidia.toml", "etc/nested/x.toml"]
    imported = engine_config.imported_before_drop_in(order, drop, 2, (1, 6))
    carried = engine_config.carried_cri(text, imported, 2)
    # containerd 1.6: the last file before the drop-in that sets the plugin is the table it would use.
    assert carried == {CRI: {"sandbox_image": "b"}}
    assert snapshot(root) == before


def test_an_operator_file_after_the_drop_in_that_sets_cri_is_refused_on_1_6(tmp_path):
    root = tree(tmp_path, {"conf.d/zz.toml": 'version = 2\n[plugins."%s"]\n  sandbox_image = "z"\n' % CRI})
    main, drop = os.path.join(root, "config.toml"), os.path.join(root, "conf.d/99-nvidia.toml")
    text = 'version = 2\nimports = ["conf.d/*.toml"]\n'
    assert engine_config.drop_in_covered(main, text, drop)
    order = engine_config.containerd_load_order(main, text, drop)
    with pytest.raises(ConfigError, match="zz.toml sets the plugin io.containerd.grpc.v1.cri and containerd 1.6 "
                                          "loads it after"):
        engine_config.imported_before_drop_in(order, drop, 2, (1, 6))
    # containerd 1.7 replaces whole plugin tables too (seen with the real 1.7.24 in the container_toolkit scenario).
    with pytest.raises(ConfigError, match="containerd 1.7 loads it after"):
        engine_config.imported_before_drop_in(order, drop, 2, (1, 7))
    # containerd 2.0 merges key by key: the operator's file keeps its settings, the runtime stays.
    assert engine_config.imported_before_drop_in(order, drop, 3, (2, 0)) == []


def test_containerd_1_6_globs_a_relative_import_against_its_working_directory(tmp_path):
    """containerd 1.6 expands "conf.d/*.toml" from / (its working directory), 1.7 beside the importing file."""
    root = tree(tmp_path, {"etc/conf.d/site-1.toml": 'version = 2\n'})
    main = os.path.join(root, "etc/config.toml")
    imports = ["conf.d/site-*.toml", "conf.d/plain.toml"]
    assert engine_config.resolve_imports(main, imports, release=(1, 7)) == [
        os.path.join(root, "etc/conf.d/site-1.toml"), os.path.join(root, "etc/conf.d/plain.toml")]
    # From /, the relative glob matches nothing here; a relative plain path is still joined to the file's folder.
    assert engine_config.resolve_imports(main, imports, release=(1, 6)) == [os.path.join(root, "etc/conf.d/plain.toml")]


def test_nested_import_covering_the_drop_in_counts(tmp_path):
    root = tree(tmp_path, {"site.toml": 'version = 2\nimports = ["conf.d/*.toml"]\n'})
    main, drop = os.path.join(root, "config.toml"), os.path.join(root, "conf.d/99-nvidia.toml")
    assert engine_config.drop_in_covered(main, 'version = 2\nimports = ["site.toml"]\n', drop)
    assert not os.path.exists(os.path.dirname(drop))


@pytest.mark.parametrize("files, message", [
    ({}, "missing.toml is imported .* but does not exist: containerd would not start"),
    ({"missing.toml": b"version = 2\nroot = '\xe9'\n"}, r"missing.toml is not UTF-8 text \(byte 0xe9"),
    ({"missing.toml": "version = 2\nroot = \n"}, "missing.toml is not valid TOML"),
])
def test_broken_imports_are_refused_by_name(tmp_path, files, message):
    root = tree(tmp_path, files)
    main, drop = os.path.join(root, "config.toml"), os.path.join(root, "conf.d/99-nvidia.toml")
    before = snapshot(root)
    with pytest.raises(ConfigError, match=message):
        engine_config.drop_in_covered(main, 'version = 2\nimports = ["missing.toml"]\n', drop)
    assert snapshot(root) == before
