"""What a user of a converged host sees: the link, the toolkits, cuDNN in each, the environment, the switch."""

import json

EXPECTED = {
    # host: (toolkits with their release, default, cuDNN variant per toolkit)
    "debian12": ({"12.8": "12.8.1", "13.0": "13.0.2"}, "13.0", {"12.8": "cuda12", "13.0": "cuda13"}),
    "debian13": ({"12.4": "12.4.1"}, "12.4", {"12.4": "cuda12"}),
}
RUNTIME = {"12.4": 12040, "12.8": 12080, "13.0": 13000}
CUDART = "import ctypes; v = ctypes.c_int(); " \
         "ctypes.CDLL('{lib}').cudaRuntimeGetVersion(ctypes.byref(v)); print(v.value)"


def expected(host):
    return EXPECTED[host.backend.get_hostname()]


def runtime_version(host, lib, shell_prefix=""):
    cmd = "%spython3 -c \"%s\"" % (shell_prefix, CUDART.format(lib=lib))
    return int(host.check_output("bash -lc %s" % json.dumps(cmd)))


def test_default_link_points_at_the_pinned_toolkit(host):
    _toolkits, default, _variants = expected(host)
    link = host.file("/usr/local/cuda")
    assert link.is_symlink
    assert link.linked_to == "/usr/local/cuda-%s" % default


def test_only_the_pinned_toolkits_are_installed(host):
    toolkits, _default, _variants = expected(host)
    found = host.check_output("ls -d /usr/local/cuda-*.* 2>/dev/null || true").split()
    assert sorted(found) == sorted("/usr/local/cuda-%s" % s for s in toolkits)
    for series, release in toolkits.items():
        record = json.loads(host.file("/usr/local/cuda-%s/version.json" % series).content_string)
        assert record["cuda"]["version"] == release
        assert "dlops_gpu" in record


def test_no_staging_or_archives_left(host):
    assert host.check_output("ls -a /usr/local | grep '^\\.dlops' || true") == ""
    assert not host.file("/var/cache/dlops-gpu/redist/cuda").exists
    assert not host.file("/var/cache/dlops-gpu/redist/cudnn").exists


def test_runtime_through_the_default_link(host):
    _toolkits, default, _variants = expected(host)
    assert runtime_version(host, "/usr/local/cuda/lib64/libcudart.so") == RUNTIME[default]


def test_runtime_of_each_toolkit(host):
    toolkits, _default, _variants = expected(host)
    for series in toolkits:
        assert runtime_version(host, "/usr/local/cuda-%s/lib64/libcudart.so" % series) == RUNTIME[series]


def test_nvcc_where_the_toolkit_has_it(host):
    toolkits, _default, _variants = expected(host)
    for series in toolkits:
        nvcc = host.file("/usr/local/cuda-%s/bin/nvcc" % series)
        if series == "13.0":
            out = host.check_output("/usr/local/cuda-13.0/bin/nvcc --version")
            assert "release 13.0, V13.0.88" in out
        else:
            assert not nvcc.exists


def test_cudnn_in_each_toolkit(host):
    toolkits, _default, variants = expected(host)
    for series in toolkits:
        header = host.file("/usr/local/cuda-%s/include/cudnn_version.h" % series).content_string
        assert "#define CUDNN_MAJOR 9" in header and "#define CUDNN_MINOR 13" in header
        record = json.loads(host.file("/usr/local/cuda-%s/version.json" % series).content_string)
        assert record["cudnn"] == {"name": "NVIDIA CUDA Deep Neural Network library", "version": "9.13.0.50",
                                   "variant": variants[series]}
        version = host.check_output(
            "python3 -c \"import ctypes; c = ctypes.CDLL('/usr/local/cuda-%s/lib64/libcudnn.so.9'); "
            "c.cudnnGetVersion.restype = ctypes.c_size_t; print(c.cudnnGetVersion())\"" % series)
        assert version == "91300"


def test_login_shell_environment(host):
    _toolkits, _default, _variants = expected(host)
    env = host.check_output("bash -lc 'echo $PATH; echo $LD_LIBRARY_PATH; echo $CUDA_HOME'").splitlines()
    assert env[0].startswith("/usr/local/cuda/bin:")
    assert env[1].split(":")[0] == "/usr/local/cuda/lib64"
    assert env[2] == "/usr/local/cuda"


def test_linker_cache_follows_the_default(host):
    _toolkits, default, _variants = expected(host)
    cache = host.check_output("ldconfig -p")
    assert "/usr/local/cuda/lib64/libcudart.so.%s" % default.split(".")[0] in cache


def test_cuda_use_switches_one_shell_only(host):
    toolkits, default, _variants = expected(host)
    for series in toolkits:
        assert runtime_version(host, "libcudart.so", "cuda-use %s && " % series) == RUNTIME[series]
    assert runtime_version(host, "libcudart.so") == RUNTIME[default]
    assert host.run("bash -lc 'cuda-use 9.9'").rc == 1


def test_modulefiles(host):
    toolkits, _default, _variants = expected(host)
    for series in toolkits:
        text = host.file("/etc/dlops-gpu/modulefiles/cuda/%s" % series).content_string
        assert "prepend-path PATH /usr/local/cuda-%s/bin" % series in text


def test_cuda_switch_command_round_trips(host):
    toolkits, default, _variants = expected(host)
    other = sorted(s for s in toolkits if s != default) or [default]
    for series in (other[0], default, other[0], default):
        out = host.check_output("cuda-switch %s" % series)
        assert out.startswith("CUDA %s is the default" % series)
        assert runtime_version(host, "/usr/local/cuda/lib64/libcudart.so") == RUNTIME[series]
    assert "* %-6s /usr/local/cuda-%s" % (default, default) in host.check_output("cuda-switch --list")
    assert "unchanged" in host.check_output("cuda-switch %s" % default)
