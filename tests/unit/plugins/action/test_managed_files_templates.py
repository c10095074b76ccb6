"""The managed_files action renders a file given as a template on the controller, as the template lookup does
(from the role's templates/, with the task's variables and the entry's template_vars), run by ansible-playbook on
localhost: check mode predicts the real run's diff, a second run changes nothing, a bad entry changes nothing."""

import json
import os
import subprocess
import sys

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan
from ansible_collections.dlops.gpu.tests.unit.conftest import COLLECTIONS
from ansible_collections.dlops.gpu.tests.unit.plugins.module_utils.test_cuda_plan_whole import H100, settings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - files
"""
TASKS = """
- name: Keep the files
  dlops.gpu.managed_files:
    files: "{{ files }}"
  register: result
  ignore_errors: true
- name: Keep the result
  ansible.builtin.copy:
    content: "{{ result | to_json }}"
    dest: "{{ result_file }}"
    mode: "0644"
  check_mode: false
"""


def play(tmp_path, files, check=False):
    role = tmp_path / "roles" / "files"
    (role / "tasks").mkdir(parents=True, exist_ok=True)
    (role / "templates").mkdir(exist_ok=True)
    (role / "tasks" / "main.yml").write_text(TASKS)
    (role / "templates" / "greeting.j2").write_text("hello {{ who }} from {{ place }}\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    out = tmp_path / "result.json"
    extra = json.dumps({"files": files, "place": "the play", "result_file": str(out),
                        "ansible_python_interpreter": sys.executable})
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp-local"),
               ANSIBLE_REMOTE_TEMP=str(tmp_path / "tmp-remote"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_ROLES_PATH=str(tmp_path / "roles"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
            str(tmp_path / "play.yml"), "-e", extra, "--diff"] + (["--check"] if check else [])
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    assert proc.returncode == 0, proc.stdout.decode()
    return json.loads(out.read_text())


def test_a_template_entry_is_rendered_with_its_own_variables_and_check_mode_predicts_the_run(tmp_path):
    target, plain = tmp_path / "out" / "greeting", tmp_path / "out" / "plain"
    files = [{"path": str(target), "template": "greeting.j2", "template_vars": {"who": "cuda"}, "mode": "0640"},
             {"path": str(plain), "content": "as given\n"}]
    checked = play(tmp_path, files, check=True)
    assert checked["changed"] and not target.exists()
    real = play(tmp_path, files)
    assert real["diff"] == checked["diff"] and real["written"] == checked["written"]
    assert target.read_text() == "hello cuda from the play\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert plain.read_text() == "as given\n"
    assert not play(tmp_path, files)["changed"]


def test_a_missing_template_or_one_beside_content_fails_with_nothing_written(tmp_path):
    target = tmp_path / "out" / "greeting"
    for entry, words in (({"template": "nowhere.j2"}, "template nowhere.j2"),
                         ({"template": "greeting.j2", "content": "x"}, "not both"),
                         ({"template": "greeting.j2", "template_vars": ["who"]}, "not both")):
        result = play(tmp_path, [dict(entry, path=str(target))])
        assert result["failed"] and words in result["msg"] and "nothing was changed" in result["msg"], result
        assert not target.exists()


def test_every_template_the_cuda_plan_names_is_in_the_role():
    plan = cuda_plan.plan(H100, settings(cuda_toolkits=["12.8", "13.0"], cuda_default="12.8"))
    names = set(f["template"] for f in plan["files"] if "template" in f)
    assert names == set(os.listdir(os.path.join(ROOT, "roles", "cuda", "templates")))
