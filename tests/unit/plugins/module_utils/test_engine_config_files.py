"""Review findings on daemon.json and containerd's TOML: a byte order mark, null objects, files nested too deeply.

The pure functions first, then container_engines.main() on files in a temporary folder (dockerd and containerd
faked through get_bin_path and run_command): a refusal is a fail_json message naming the file, never a
traceback, and every file under the temporary folder keeps its bytes.
"""

import json
import os
import tomllib

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.dlops.gpu.plugins.module_utils import engine_config
from ansible_collections.dlops.gpu.plugins.module_utils.engine_config import ConfigError
from ansible_collections.dlops.gpu.plugins.modules import container_engines

RUNTIME = "/usr/bin/nvidia-container-runtime"
DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"
BOM = b"\xef\xbb\xbf"
LIMIT = 256  # engine_config.MAX_DEPTH


def snapshot(root):
    found = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.isdir(path):
                found[path] = "dir"
            else:
                with open(path, "rb") as handle:
                    found[path] = handle.read()
    return found


# The pure functions --------------------------------------------------------------------------------------------

def test_a_bom_is_refused_unless_asked_for_and_then_kept():
    with pytest.raises(ConfigError, match="config.toml starts with a UTF-8 byte order mark"):
        engine_config.decode_text(BOM + b"version = 2\n", "config.toml")
    assert engine_config.decode_text(BOM + b"{}", "daemon.json", bom=True) == u"\ufeff{}"


@pytest.mark.parametrize("before", ['{\n    "log-level": "info"\n}\n', "", '{"runtimes": {"nvidia": '
                                    '{"path": "%s", "args": []}}}' % RUNTIME])
def test_daemon_json_with_a_bom_is_edited_after_it(before):
    text = u"\ufeff" + before
    after = engine_config.docker_daemon_config(text, RUNTIME, cdi=True)
    assert after.startswith(u"\ufeff") and not after[1:].startswith(u"\ufeff")
    assert after[1:] == engine_config.docker_daemon_config(before, RUNTIME, cdi=True)
    assert json.loads(after[1:])["runtimes"]["nvidia"] == {"path": RUNTIME, "args": []}


@pytest.mark.parametrize("before, after", [
    ('{\n    "log-level": "info",\n    "runtimes": null\n}\n',
     '{\n    "log-level": "info",\n    "runtimes": {\n        "nvidia": {\n            "path": "%s",\n'
     '            "args": []\n        }\n    }\n}\n' % RUNTIME),
    ('{"runtimes": null, "a": 1}', '{"runtimes": {"nvidia": {"path": "%s", "args": []}}, "a": 1}' % RUNTIME),
])
def test_runtimes_null_becomes_an_object_holding_nvidia(before, after):
    assert engine_config.docker_daemon_config(before, RUNTIME) == after


def test_features_null_becomes_an_object_holding_cdi():
    after = engine_config.docker_daemon_config('{"features": null}', RUNTIME, cdi=True)
    assert json.loads(after) == {"features": {"cdi": True}, "runtimes": {"nvidia": {"path": RUNTIME, "args": []}}}
    assert after.startswith('{"features": {"cdi": true}, ')


def nested_json(depth):
    return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [LIMIT + 1, 1001, 100000])
def test_daemon_json_nested_too_deeply_is_refused_by_name(depth):
    with pytest.raises(ConfigError, match=r"^/etc/docker/daemon.json is nested too deeply \(more than 256 levels"):
        engine_config.docker_daemon_config(nested_json(depth), RUNTIME, path="/etc/docker/daemon.json")


def test_daemon_json_nested_to_the_limit_is_merged():
    assert engine_config.MAX_DEPTH == LIMIT
    after = engine_config.docker_daemon_config(nested_json(LIMIT), RUNTIME)
    assert json.loads(after)["runtimes"]["nvidia"]["path"] == RUNTIME


def dotted(depth):
    """A CRI table with a sub-table ``depth`` levels below the top."""
    plugin = '[plugins."io.containerd.grpc.v1.cri".' + ".".join(["a"] * (depth - 3))
    return 'version = 2\n%s]\nx = 1\n' % plugin


@pytest.mark.parametrize("text", [dotted(LIMIT + 1), dotted(3000),
                                  "version = 2\nx = " + "[" * 1000 + "]" * 1000 + "\n",
                                  "version = 2\nx = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n"],
                         ids=["dotted-257", "dotted-3000", "arrays-1000", "inline-tables-1000"])
def test_toml_nested_too_deeply_is_refused_by_name(text):
    with pytest.raises(ConfigError, match=r"^/etc/containerd/config.toml is nested too deeply"):
        engine_config.toml_loads(text, "/etc/containerd/config.toml")


def test_toml_nested_to_the_limit_goes_through_every_step():
    text = dotted(LIMIT)
    main = engine_config.containerd_main_config(text, DROP_IN, 2, covered=False)
    carried = engine_config.carried_cri(text, [], 2)
    drop_in = engine_config.containerd_drop_in(2, RUNTIME, carried=carried)
    assert tomllib.loads(main)["imports"] == [DROP_IN]
    assert tomllib.loads(drop_in)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["nvidia"]


# container_engines.main() on real files -------------------------------------------------------------------------

class Exit(Exception):
    def __init__(self, failed, result):
        Exception.__init__(self, result.get("msg"))
        self.failed, self.result = failed, result


def run(monkeypatch, args, binaries):
    """main() with fake engines: binaries {name: --version output}; (failed, result, commands run)."""
    commands = []

    def get_bin_path(self, name, *_args, **_kwargs):
        return "/usr/bin/" + name if name in binaries else None

    def run_command(self, argv, *_args, **_kwargs):
        commands.append(argv)
        if argv[-1] == "--version":
            return 0, binaries[os.path.basename(argv[0])], ""
        return 0, "", ""

    def exit_json(self, **result):
        raise Exit(False, result)

    def fail_json(self, **result):
        raise Exit(True, result)

    for name, value in (("get_bin_path", get_bin_path), ("run_command", run_command), ("exit_json", exit_json),
                        ("fail_json", fail_json), ("selinux_enabled", lambda self: False)):
        monkeypatch.setattr(basic.AnsibleModule, name, value)
    with patch_module_args(args):
        with pytest.raises(Exit) as done:
            container_engines.main()
    return done.value.failed, done.value.result, commands


DOCKER = {"dockerd": "Docker version 26.1.5, build 411e817"}
CONTAINERD = {"containerd": "containerd github.com/containerd/containerd v1.7.24 88bf19b"}


def test_module_keeps_the_bom_of_daemon_json(tmp_path, monkeypatch):
    path = tmp_path / "daemon.json"
    path.write_bytes(BOM + b'{\n    "log-level": "info",\n    "runtimes": null\n}\n')
    failed, result, _commands = run(monkeypatch, {"engines": ["docker"], "docker_config": str(path)}, DOCKER)
    assert not failed, result
    data = path.read_bytes()
    assert data.startswith(BOM) and not data[3:].startswith(BOM)
    assert json.loads(data[3:].decode("utf-8")) == {"log-level": "info",
                                                    "runtimes": {"nvidia": {"path": RUNTIME, "args": []}}}
    assert sorted(os.listdir(str(tmp_path))) == ["daemon.json"]
    assert run(monkeypatch, {"engines": ["docker"], "docker_config": str(path)}, DOCKER)[1]["changed"] is False


def test_module_refuses_a_daemon_json_nested_too_deeply(tmp_path, monkeypatch):
    path = tmp_path / "daemon.json"
    path.write_bytes(nested_json(5000).encode())
    before = snapshot(tmp_path)
    failed, result, _commands = run(monkeypatch, {"engines": ["docker"], "docker_config": str(path)}, DOCKER)
    assert failed
    assert result["msg"].startswith("%s is nested too deeply" % path) and "nothing was changed" in result["msg"]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["config.toml", "conf.d/10-site.toml"])
def test_module_refuses_containerd_files_nested_too_deeply(tmp_path, monkeypatch, name):
    (tmp_path / "conf.d").mkdir()
    main, site = tmp_path / "config.toml", tmp_path / "conf.d" / "10-site.toml"
    main.write_text('version = 2\nimports = ["%s"]\n' % site)
    site.write_text("")
    (tmp_path / name).write_text(dotted(3000))
    before = snapshot(tmp_path)
    failed, result, commands = run(monkeypatch, {"engines": ["containerd"], "containerd_config": str(main),
                                                 "containerd_drop_in": str(tmp_path / "conf.d" / "99-nvidia.toml")},
                                   CONTAINERD)
    assert failed
    assert result["msg"].startswith("%s is nested too deeply" % (tmp_path / name)), result["msg"]
    assert snapshot(tmp_path) == before
    assert [argv[1:] for argv in commands] == [["--version"]]
