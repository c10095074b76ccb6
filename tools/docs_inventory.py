# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the Sphinx inventory of the Ansible docs that the docs site links to, without fetching it.

The pages antsibull-docs generates link to the Ansible docs through intersphinx: a few fixed labels
(common return values, action plugins, configuration settings) and one label per plugin or role of
ansible.builtin and of the collections galaxy.yml depends on (M(ansible.builtin.file) and the like).
Those labels follow one pattern, so they are made from the installed ansible-core and collections
instead of being downloaded: the site builds offline and its links point at the published docs.

    python tools/docs_inventory.py galaxy.yml build/docs-src/ansible_devel.inv

A page that needs a fixed label missing here fails the site build (sphinx -W) naming the label;
add it to FIXED_LABELS.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import sys
import zlib

import yaml

# label: (page and anchor under the docs root, title)
FIXED_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings", "Ansible Configuration Settings"),
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
}

# Plugin folders that hold documented plugins; the others (action, module_utils, doc_fragments...) do not.
PLUGIN_TYPES = ("become", "cache", "callback", "cliconf", "connection", "filter", "httpapi", "inventory", "lookup",
                "netconf", "shell", "strategy", "terminal", "test", "vars")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*\Z")


def plugin_names(folder):
    """Plugin names of a plugin folder: its .py and .yml files (filter and test docs live in .yml files)."""
    if not os.path.isdir(folder):
        return set()
    names = set()
    for entry in os.listdir(folder):
        stem, ext = os.path.splitext(entry)
        if ext in (".py", ".yml", ".yaml") and NAME.match(stem):
            names.add(stem)
    return names


def builtin_plugins():
    """(type, name) of every plugin of ansible.builtin in the installed ansible-core."""
    import ansible
    root = os.path.dirname(ansible.__file__)
    found = {("module", name) for name in plugin_names(os.path.join(root, "modules"))}
    for plugin_type in PLUGIN_TYPES:
        found |= {(plugin_type, name) for name in plugin_names(os.path.join(root, "plugins", plugin_type))}
    return found


def collection_root(namespace, name):
    """The collection's folder the way ansible looks it up: ANSIBLE_COLLECTIONS_PATH first, then sys.path."""
    paths = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) + sys.path
    for path in paths:
        candidate = os.path.join(path, "ansible_collections", namespace, name)
        if path and os.path.isdir(candidate):
            return candidate
    raise SystemExit("docs_inventory: collection %s.%s is not installed" % (namespace, name))


def collection_plugins(root):
    """(type, name) of every module, plugin and role of an installed collection."""
    found = {("module", name) for name in plugin_names(os.path.join(root, "plugins", "modules"))}
    for plugin_type in PLUGIN_TYPES:
        found |= {(plugin_type, name) for name in plugin_names(os.path.join(root, "plugins", plugin_type))}
    roles = os.path.join(root, "roles")
    if os.path.isdir(roles):
        found |= {("role", name) for name in os.listdir(roles) if NAME.match(name)}
    return found


def entries(collections):
    """Inventory lines, one a label, for the fixed labels and the plugins of the given collections."""
    lines = ["%s std:label -1 %s %s" % (label, uri, title) for label, (uri, title) in FIXED_LABELS.items()]
    for fqcn, plugins in collections.items():
        namespace, name = fqcn.split(".")
        for plugin_type, plugin in plugins:
            label = "ansible_collections.%s.%s.%s_%s" % (namespace, name, plugin, plugin_type)
            anchor = re.sub(r"[^a-z0-9]+", "-", label.lower())
            lines.append("%s std:label -1 collections/%s/%s/%s_%s.html#%s %s.%s.%s %s" % (
                label, namespace, name, plugin, plugin_type, anchor, namespace, name, plugin, plugin_type))
    return sorted(lines)


def write_inventory(path, lines):
    """Sphinx's inventory format, version 2: four header lines, then the entries zlib-compressed."""
    header = ("# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        handle.write(zlib.compress(("\n".join(lines) + "\n").encode("utf-8")))


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: docs_inventory.py GALAXY_YML OUTPUT")
    with open(argv[1]) as handle:
        galaxy = yaml.safe_load(handle)
    collections = {"ansible.builtin": builtin_plugins()}
    for fqcn in sorted(galaxy.get("dependencies") or {}):
        collections[fqcn] = collection_plugins(collection_root(*fqcn.split(".")))
    lines = entries(collections)
    write_inventory(argv[2], lines)
    print("docs_inventory: %d labels in %s" % (len(lines), argv[2]))


if __name__ == "__main__":
    main(sys.argv)
