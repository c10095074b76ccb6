"""What the container_toolkit role leaves behind, seen the way an operator sees it: packages, holds, the real
engines' own view of their configuration, and a container run through the nvidia runtime."""

import json
import os
import tomllib

import pytest

# What prepare.yml seeded, per host: the operator's bytes the role must keep.
SEEDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "files")
CRI = "io.containerd.grpc.v1.cri"
DROP_IN = "/etc/containerd/conf.d/99-nvidia.toml"

PACKAGES = ["nvidia-container-toolkit", "nvidia-container-toolkit-base", "libnvidia-container-tools",
            "libnvidia-container1"]
OPERATOR_DOCKER = {
    "log-driver": "json-file",
    "log-opts": {"max-size": "100m", "max-file": "5"},
    "registry-mirrors": ["https://registry-mirror.example.internal"],
    "data-root": "/srv/docker",
    "default-address-pools": [{"base": "172.30.0.0/16", "size": 24}],
    "storage-driver": "vfs",
}


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_at_the_pinned_version_and_held(host, package):
    assert host.package(package).version == "1.17.8-1"
    assert package in host.check_output("apt-mark showhold").split()


def test_repository_is_signed_by_the_checked_key_and_pinned(host):
    source = host.file("/etc/apt/sources.list.d/dlops-nvidia-container-toolkit.sources").content_string
    assert "Signed-By: /etc/apt/keyrings/dlops-nvidia-container-toolkit.gpg" in source
    assert "URIs: http://127.0.0.1:8080/stable/deb/amd64" in source
    pin = host.file("/etc/apt/preferences.d/dlops-nvidia-container-toolkit").content_string
    assert "Pin: version 1.17.8-1" in pin and "Pin-Priority: 1001" in pin
    policy = host.check_output("apt-cache policy nvidia-container-toolkit")
    assert "Candidate: 1.17.8-1" in policy


def test_daemon_json_keeps_the_operators_keys(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert {key: config[key] for key in OPERATOR_DOCKER} == OPERATOR_DOCKER
    assert config["runtimes"] == {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "args": []}}


def seeded(host, name):
    """The bytes prepare.yml seeded: daemon.json gets CRLF line ends there (the repository keeps LF)."""
    with open(os.path.join(SEEDED, host.backend.get_hostname(), name), "rb") as handle:
        data = handle.read()
    return data.replace(b"\n", b"\r\n") if name == "daemon.json" else data


def one_insertion(before, after):
    """(offset, bytes added) when ``after`` is ``before`` with one run of bytes added and nothing else changed."""
    assert len(after) > len(before), "nothing was added"
    prefix = 0
    while prefix < len(before) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < len(before) - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    assert prefix + suffix == len(before), "bytes of the original changed at offset %d" % prefix
    return prefix, after[prefix:len(after) - suffix]


def test_a_linked_daemon_json_stays_a_link_and_its_target_keeps_the_operators_bytes(host):
    if host.backend.get_hostname() != "debian12":
        pytest.skip("the link is seeded on debian12")
    link = host.file("/etc/docker/daemon.json")
    assert link.is_symlink and link.linked_to == "/etc/docker/site/daemon.json"
    target = host.file("/etc/docker/site/daemon.json")
    assert target.is_file and not target.is_symlink and target.mode == 0o640
    before, after = seeded(host, "daemon.json"), target.content
    at, added = one_insertion(before, after)
    # The runtime is added after the last member, in the file's own line ends (CRLF) and indentation (tabs).
    assert before[at:] == b"\r\n}\r\n"
    assert b"\n" not in added.replace(b"\r\n", b"") and b"\r" not in added.replace(b"\r\n", b"")
    assert added.startswith(b",\r\n\t\"runtimes\": {\r\n\t\t\"nvidia\": {")
    assert json.loads(after)["runtimes"] == {"nvidia": {"path": "/usr/bin/nvidia-container-runtime", "args": []}}
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert "nvidia" in info["Runtimes"]
    assert {"dlops.site=Z\u00fcrich", "dlops.team=\u00e9quipe-gpu"} <= set(info["Labels"])


def test_docker_lists_the_runtime_and_keeps_its_settings(host):
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert "nvidia" in info["Runtimes"]
    assert info["DockerRootDir"] == "/srv/docker"
    assert info["LoggingDriver"] == "json-file"
    assert info["RegistryConfig"]["Mirrors"] == ["https://registry-mirror.example.internal/"]


def test_a_container_runs_through_the_nvidia_runtime(host):
    # A busybox image made on the spot; the stand-in runtime hands over to runc, as the real one does.
    host.check_output("docker image inspect dlops-test/busybox >/dev/null 2>&1 || "
                      "(d=$(mktemp -d) && mkdir $d/bin && cp /bin/busybox $d/bin/ && ln -s busybox $d/bin/sh && "
                      "tar -C $d -c . | docker import - dlops-test/busybox >/dev/null)")
    out = host.check_output("docker run --rm --network none --runtime nvidia dlops-test/busybox "
                            "sh -c 'echo runtime ok'")
    assert out == "runtime ok"


def dump(host):
    return tomllib.loads(host.check_output("containerd config dump"))


def test_containerd_reads_the_runtime_from_the_drop_in(host):
    config = dump(host)
    runtime = config["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["nvidia"]
    assert runtime["runtime_type"] == "io.containerd.runc.v2"
    assert runtime["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    assert "/etc/containerd/conf.d/99-nvidia.toml" in config["imports"]
    main = tomllib.loads(host.file("/etc/containerd/config.toml").content_string)
    assert "/etc/containerd/conf.d/99-nvidia.toml" in main["imports"]


def test_containerd_keeps_the_operators_settings(host):
    config = dump(host)
    cri = config["plugins"][CRI]
    # Both from the site's file, reached through a relative import (debian13: the glob conf.d/site-*.toml).
    assert "/etc/containerd/conf.d/site-10-cri.toml" in config["imports"]
    assert cri["sandbox_image"] == "registry.example.internal/pause:3.9"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    if host.backend.get_hostname() == "debian12":
        # containerd 1.x replaces whole plugin tables on import: the drop-in carries the operator's along.
        assert cri["registry"]["config_path"] == "/etc/containerd/certs.d"
        assert cri["containerd"]["default_runtime_name"] == "runc"
        assert config["plugins"]["io.containerd.internal.v1.opt"]["path"] == "/srv/containerd/opt"
        assert config["root"] == "/srv/containerd"
    else:
        # Debian's own setting in the main file (also Debian's default, so this alone proves little).
        assert cri["cni"]["bin_dir"] == "/usr/lib/cni"


def test_containerd_sees_what_it_saw_before_plus_the_runtime(host):
    """containerd's own view (config dump) after the role is its view before (prepare.yml) plus the runtime."""
    before = tomllib.loads(host.file("/root/containerd-dump-before.toml").content_string)
    after = dump(host)
    runtime = after["plugins"][CRI]["containerd"]["runtimes"].pop("nvidia")
    assert runtime["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    # containerd lists the files it loaded in no set order.
    assert set(after.pop("imports")) == set(before.pop("imports")) | {DROP_IN}
    assert after == before


def test_containerd_main_config_changes_only_by_the_import(host):
    before, after = seeded(host, "config.toml"), host.file("/etc/containerd/config.toml").content
    at, added = one_insertion(before, after)
    start = before.index(b"imports = [")
    assert start < at <= before.index(b"]", start), "added outside the imports array"
    assert added.strip(b" \t\r\n,") == json.dumps(DROP_IN).encode()
    assert host.file("/etc/containerd/conf.d/site-10-cri.toml").content == seeded(host, "site-10-cri.toml")


def test_dockerd_validates_the_file_where_it_can(host):
    if "--validate" not in host.check_output("dockerd --help"):
        pytest.skip("Docker before 23 has no --validate; docker info above proves the file")
    check = host.run("dockerd --validate --config-file /etc/docker/daemon.json")
    assert check.rc == 0 and "configuration OK" in check.stdout + check.stderr
