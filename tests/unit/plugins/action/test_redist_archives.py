"""The action plugins of cuda_toolkit and cuda_cudnn, run by ansible-playbook on localhost: check mode copies
nothing, a host that needs nothing gets no copy, a hostile relative_path is refused before anything is copied."""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dlops.gpu.tests.unit.conftest import COLLECTIONS
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_switch import snapshot
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_redist import cudart

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Install the toolkit
      dlops.gpu.cuda_toolkit:
        version: "{{ toolkit_args.version }}"
        components: "{{ toolkit_args.components }}"
        archive_dir: "{{ toolkit_args.archive_dir }}"
        prefix: "{{ toolkit_args.prefix }}"
        remove_archives: "{{ toolkit_args.remove_archives }}"
      register: result
      ignore_errors: true
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ result | to_json }}"
        dest: "{{ result_file }}"
        mode: "0644"
      check_mode: false
"""


def play(tmp_path, args, check=False):
    book = tmp_path / "play.yml"
    book.write_text(PLAYBOOK)
    out = tmp_path / "result.json"
    extra = json.dumps({"toolkit_args": args, "result_file": str(out),
                        "ansible_python_interpreter": sys.executable})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp-local"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp-remote"), ANSIBLE_HOME=str(tmp_path / "home"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(book),
            "-e", extra] + (["--check"] if check else [])
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    return json.loads(out.read_text())


@pytest.fixture
def setup(tmp_path):
    cache = tmp_path / "cache" / "cuda_cudart" / "linux-x86_64"
    cache.mkdir(parents=True)
    entry = cudart(cache)
    entry["path"] = str(cache / entry["relative_path"])
    entry["relative_path"] = "cuda_cudart/linux-x86_64/" + entry["relative_path"]
    (tmp_path / "prefix").mkdir()
    args = {"version": "12.8.1", "components": {"cuda_cudart": entry}, "archive_dir": str(tmp_path / "host-archives"),
            "prefix": str(tmp_path / "prefix"), "remove_archives": True}
    return tmp_path, args


def test_check_mode_copies_nothing_the_real_run_copies_installs_and_cleans_up_then_nothing(setup):
    tmp_path, args = setup
    before = snapshot(str(tmp_path / "prefix"))
    checked = play(tmp_path, args, check=True)
    assert checked["changed"] and not os.path.exists(args["archive_dir"])
    assert snapshot(str(tmp_path / "prefix")) == before
    real = play(tmp_path, args)
    assert real["changed"] and real["copied"] == [args["components"]["cuda_cudart"]["relative_path"]]
    assert real["differences"] == checked["differences"]
    assert os.path.isfile(str(tmp_path / "prefix" / "cuda-12.8" / "lib" / "libcudart.so.12"))
    assert not os.path.exists(args["archive_dir"])
    again = play(tmp_path, args)
    assert not again["changed"] and "copied" not in again and not os.path.exists(args["archive_dir"])


@pytest.mark.parametrize("relative", ["/tmp/elsewhere/cuda_cudart-archive.tar.xz", "a/../../escape.tar.xz"])
def test_a_hostile_relative_path_is_refused_before_anything_is_copied(setup, relative):
    tmp_path, args = setup
    args["components"]["cuda_cudart"]["relative_path"] = relative
    before = snapshot(str(tmp_path))
    result = play(tmp_path, args)
    assert result["failed"] and "relative_path" in result["msg"]
    after = snapshot(str(tmp_path))
    assert set(after) - set(before) <= {str(tmp_path / "play.yml"), str(tmp_path / "result.json")} | set(
        p for p in after if "/tmp-" in p or "/home" in p)
