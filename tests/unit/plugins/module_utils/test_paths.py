import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import paths


@pytest.mark.parametrize("value", ["/usr/local", "/opt/cuda-12.8", "/etc/apt/keyrings/dlops+x_y.gpg", "/..a/b.."])
def test_plain_paths(value):
    assert paths.plain(value)


@pytest.mark.parametrize("value", ["usr/local", "/usr/local/", "//usr", "/usr/../etc", "/usr/./local", "/..", "/.",
                                   "/a b", "/a;b", "/a$b", "/a\nb", "/a/\u00e9", "", None, 3, ["/usr"]])
def test_paths_that_are_not_plain(value):
    assert not paths.plain(value)
