"""The nvidia runtime merged into Docker's and containerd's configuration, keeping the operator's settings."""

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
    with open(os.path.join(ENGINES, name)) as handle:
        return handle.read()


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
    # An imported file that sets the plugin replaces it, as containerd before 1.7 does.
    assert engine_config.carried_cri(operator, [site], 2) == {
        "io.containerd.grpc.v1.cri": {"sandbox_image": "registry.example.internal/pause:3.10"}}
    assert engine_config.import_patterns(operator, DROP_IN) == ["/etc/containerd/site.d/*.toml"]


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
