"""tools/docs_inventory.py: the inventory the offline docs site links to the Ansible docs through, read by Sphinx."""

import importlib.util
import os
import posixpath

import pytest
from sphinx.util.inventory import InventoryFile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
SPEC = importlib.util.spec_from_file_location("docs_inventory", os.path.join(ROOT, "tools", "docs_inventory.py"))
docs_inventory = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(docs_inventory)
BASE = "https://docs.ansible.com/projects/ansible/devel"


def load(tmp_path, galaxy_text):
    galaxy = tmp_path / "galaxy.yml"
    galaxy.write_text(galaxy_text)
    out = tmp_path / "ansible_devel.inv"
    docs_inventory.main(["docs_inventory.py", str(galaxy), str(out)])
    with open(str(out), "rb") as handle:
        return InventoryFile.load(handle, BASE, posixpath.join)["std:label"]


def test_labels_of_builtin_and_dependencies_resolve_to_their_pages(tmp_path):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        labels = load(tmp_path, handle.read())
    # The pages of this collection link to these (M(ansible.builtin.file), antsibull-docs' templates).
    assert labels["ansible_collections.ansible.builtin.file_module"].uri == (
        BASE + "/collections/ansible/builtin/file_module.html#ansible-collections-ansible-builtin-file-module")
    assert labels["ansible_collections.ansible.builtin.deb822_repository_module"].uri.endswith(
        "/collections/ansible/builtin/deb822_repository_module.html"
        "#ansible-collections-ansible-builtin-deb822-repository-module")
    assert labels["common_return_values"].uri == (
        BASE + "/reference_appendices/common_return_values.html#common-return-values")
    assert labels["ansible_configuration_settings"].display_name == "Ansible Configuration Settings"
    # Filters (documented in .yml files); galaxy.yml depends on no other collection, so none of theirs.
    assert "ansible_collections.ansible.builtin.to_json_filter" in labels
    others = ("ansible_collections.ansible.posix.", "ansible_collections.community.")
    assert not [label for label in labels if label.startswith(others)]
    # Not a plugin: module_utils and doc fragments have no pages.
    assert not [label for label in labels if "_module_utils" in label or "doc_fragments" in label]


def test_only_the_collections_named_are_listed(tmp_path):
    labels = load(tmp_path, "namespace: dlops\nname: gpu\nversion: 0.1.0\n")
    assert "ansible_collections.ansible.builtin.copy_module" in labels
    assert not [label for label in labels if label.startswith("ansible_collections.ansible.posix.")]
    # A dependency's plugins, modules and filters (documented in .yml files) are listed with ansible.builtin's.
    labels = load(tmp_path, "dependencies:\n  ansible.posix: '>=1.5.0'\n  community.general: '>=8.0.0'\n")
    assert "ansible_collections.ansible.posix.mount_module" in labels
    assert "ansible_collections.community.general.modprobe_module" in labels


def test_a_dependency_that_is_not_installed_is_named(tmp_path):
    with pytest.raises(SystemExit, match="collection dlops.absent is not installed"):
        load(tmp_path, "dependencies:\n  dlops.absent: '>=1.0.0'\n")
