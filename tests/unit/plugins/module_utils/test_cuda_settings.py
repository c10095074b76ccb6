"""cuda_plan.settings_errors, the first check of the cuda and cudnn plans: role variables that would write a wrong
or unsafe file are refused, one message each."""

import os

import yaml
from ansible.parsing.utils.yaml import from_yaml
from hypothesis import given, settings, strategies as st

from ansible_collections.dlops.gpu.plugins.filter.cuda import FilterModule
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))
GOOD = {"cuda_prefix": "/usr/local", "cuda_modulefiles_dir": "/etc/dlops-gpu/modulefiles",
        "cuda_switch_command": "/usr/local/sbin/cuda-switch", "cuda_archive_dir": "/var/cache/dlops-gpu/redist",
        "cuda_toolkits": ["12.8", "13.0.1"], "cuda_default": "12.8", "cuda_components": ["cuda_cudart"],
        "cuda_components_by_toolkit": {"13.0": ["cuda_cudart", "cuda_nvcc"]},
        "cudnn_versions": {"12": "9.13", "12.4": "9.10.2"}, "cudnn_archive_dir": "/var/cache/dlops-gpu/redist"}


def test_the_defaults_and_the_examples_pass():
    assert cuda_plan.settings_errors(GOOD) == []
    assert cuda_plan.settings_errors(dict(GOOD, cuda_default="", cuda_toolkits=[], cudnn_versions={})) == []
    # The roles reach the check only through their plans, which stop on it before judging anything else.
    assert FilterModule().filters()["cuda_plan"] is cuda_plan.plan
    assert FilterModule().filters()["cudnn_plan"] is cuda_plan.cudnn_role_plan
    assert "cuda_settings_errors" not in FilterModule().filters()


def test_a_string_where_a_list_belongs_is_one_message():
    errors = cuda_plan.settings_errors(dict(GOOD, cuda_toolkits="12.8,13.0"))
    assert errors == ['cuda_toolkits must be a list, not a string "12.8,13.0": write it as a YAML list, for example '
                      'cuda_toolkits: ["12.8", "13.0"]']
    assert len(cuda_plan.settings_errors(dict(GOOD, cuda_components="cuda_cudart"))) == 1
    assert len(cuda_plan.settings_errors(dict(GOOD, cuda_components_by_toolkit={"13.0": "cuda_nvcc"}))) == 1


def test_versions_must_be_quoted_digits():
    errors = cuda_plan.settings_errors(dict(GOOD, cuda_toolkits=["12.8", 13.0, "12.8;id", "12.x"], cuda_default=12.8,
                                            cudnn_versions={12: "9.13", "13": 9.13, "12.4": "9.1$(id)"}))
    assert errors == [
        'cuda_default: 12.8 is a number: write it quoted, for example cuda_default: "12.8"',
        'cuda_toolkits: 13.0, "12.8;id", "12.x" are not valid: each must be X.Y or X.Y.Z digits, quoted ("12.8", '
        '"12.8.1")',
        'cudnn_versions: key 12 is a number: write it quoted, for example cudnn_versions: {"12": "9.13", "12.8": '
        '"9.10.2"}',
        'cudnn_versions: "12.4": "9.1$(id)" is not a cuDNN release X.Y or X.Y.Z: for example cudnn_versions: '
        '{"12.4": "9.13"}',
        'cudnn_versions: "13": 9.13 is a number: write it quoted, for example cudnn_versions: {"13": "9.13"}']


def test_a_space_around_a_quoted_version_is_named_not_told_to_quote_it():
    assert cuda_plan.settings_errors({"cuda_default": "12.8 "}) == [
        'cuda_default: "12.8 " has a space or newline before or after it: remove it, for example cuda_default: "12.8"']
    assert cuda_plan.settings_errors({"cuda_toolkits": ["12.8\n", "13.0"]}) == [
        'cuda_toolkits: "12.8\\n" is not valid: each must be X.Y or X.Y.Z digits, quoted ("12.8", "12.8.1"); '
        '"12.8\\n" has a space or newline before or after it: remove it']
    assert cuda_plan.settings_errors({"cudnn_versions": {" 12": "9.13 "}}) == [
        'cudnn_versions: key " 12" has a space or newline before or after it: remove it, for example cudnn_versions: '
        '{"12": "9.13", "12.8": "9.10.2"}',
        'cudnn_versions: " 12": "9.13 " has a space or newline before or after it: remove it, for example '
        'cudnn_versions: {"12": "9.13"}']
    assert cuda_plan.settings_errors({"cuda_default": "12.x"}) == [
        'cuda_default: "12.x" is not X.Y or X.Y.Z digits: for example cuda_default: "12.8"']


def test_values_as_ansible_hands_them_over_are_named_in_yaml_words_never_by_class():
    """Ansible 2.19 passes str/list/dict subclasses (_AnsibleTaggedStr...): the message says what they are in YAML."""
    values = from_yaml('cuda_toolkits: "12.8"\ncudnn_versions: ["9.1"]\ncuda_components_by_toolkit: {"12.8": cuda_nvcc}\n'
                       'cuda_default: [12.8]\ncuda_components: {a: b}\n', file_name="/roles/cuda/defaults/main.yml")
    assert values["cuda_toolkits"].__class__.__name__ != "str"  # the test holds Ansible's own types, not plain ones
    errors = cuda_plan.settings_errors(values)
    assert errors == [
        'cuda_components must be a list, not a mapping {"a": "b"}: write it as a YAML list, for example '
        'cuda_components: [cuda_cudart, libcublas]',
        'cuda_components_by_toolkit: "12.8" must be a list, not a string "cuda_nvcc": write it as a YAML list, for '
        'example cuda_components_by_toolkit: {"12.8": [cuda_cudart]}',
        'cuda_default: [12.8] is not X.Y or X.Y.Z digits (it is a list): for example cuda_default: "12.8"',
        'cuda_toolkits must be a list, not a string "12.8": write it as a YAML list, for example cuda_toolkits: '
        '["12.8", "13.0"]',
        'cudnn_versions must be a mapping, not a list ["9.1"]: write it as a YAML mapping, for example cudnn_versions: '
        '{"12": "9.13"}']
    assert not [error for error in errors if "Tagged" in error or " str " in error or " dict " in error]
    assert cuda_plan.settings_errors({"cuda_toolkits": 12.8, "cudnn_versions": True}) == [
        'cuda_toolkits must be a list, not a number 12.8: write it as a YAML list, for example cuda_toolkits: '
        '["12.8", "13.0"]',
        'cudnn_versions must be a mapping, not true/false true: write it as a YAML mapping, for example '
        'cudnn_versions: {"12": "9.13"}']


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(cuda_plan.SETTING_KINDS)),
                       st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
                                    lambda inner: st.lists(inner, max_size=3)
                                    | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3),
                                    max_leaves=6)))
def test_every_example_in_a_message_is_valid_yaml(values):
    for error in cuda_plan.settings_errors(values):
        assert "\n" not in error
        if "for example " in error and cuda_plan.SETTING_KINDS[error.split(":")[0].split(" ")[0]] != "path":
            example = error.rsplit("for example ", 1)[1]
            assert isinstance(yaml.safe_load(example), dict), error


def test_a_newline_is_shown_escaped_in_the_message():
    [error] = cuda_plan.settings_errors({"cuda_prefix": "/usr/local\nrm -rf /"})
    assert error.startswith('cuda_prefix: "/usr/local\\nrm -rf /" is not a plain absolute path') and "\n" not in error


SAFE = st.text(alphabet="abcXYZ019._+-", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@settings(max_examples=400, deadline=None)
@given(st.lists(SAFE, min_size=1, max_size=4), st.sampled_from(list(" '\"$`;\\\n\t{}[]()*?<>|&#!~=%,:")),
       st.integers(min_value=0, max_value=3))
def test_a_path_with_any_shell_or_tcl_special_character_is_refused(parts, bad, where):
    good = "/" + "/".join(parts)
    assert cuda_plan.settings_errors({"cuda_prefix": good}) == []
    where = min(where, len(parts) - 1)
    parts = list(parts)
    parts[where] = parts[where] + bad
    errors = cuda_plan.settings_errors({"cuda_prefix": "/" + "/".join(parts), "cuda_modulefiles_dir": good})
    assert len(errors) == 1 and errors[0].startswith("cuda_prefix: ")


def test_relative_dotted_and_trailing_slash_paths_are_refused():
    for path in ("usr/local", "/usr/local/", "/usr/../etc", "/usr/./local", "/", "", None, ["/usr/local"]):
        assert len(cuda_plan.settings_errors({"cuda_switch_command": path})) == 1, path


def test_the_templates_quote_every_path_they_write():
    """Belt and braces: the sh template quotes cuda_prefix and cuda_modulefiles_dir wherever shell reads them."""
    with open(os.path.join(ROOT, "roles", "cuda", "templates", "dlops-cuda.sh.j2")) as handle:
        lines = [line for line in handle if not line.lstrip().startswith("#")]
    for line in lines:
        for name in ("cuda_prefix", "cuda_modulefiles_dir"):
            if name in line:
                assert "| quote" in line or "regex_escape" in line, line
    with open(os.path.join(ROOT, "roles", "cuda", "templates", "cuda-switch.j2")) as handle:
        assert '"--prefix", {{ cuda_prefix | to_json }}' in handle.read()
