#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: package_hold
short_description: Hold packages at their version so that upgrades leave them alone, in one call
version_added: 0.1.0
description:
  - apt - marks installed packages as held (C(apt-mark hold)), so that C(apt upgrade), C(apt full-upgrade) and
    unattended-upgrades keep their version; or takes the hold back. Reads every package's selection once and
    changes only those that differ; packages that are not installed are reported and left alone.
  - dnf - writes the packages' entries in the versionlock plugin's list (C(name-epoch:version-release.*)),
    replacing entries for other versions of those packages and keeping every other line, so that C(dnf upgrade)
    keeps them; or removes their entries. Without O(version), each installed package is locked at its installed
    version (read with rpm); packages that are not installed are reported and left alone. The plugin itself
    (C(python3-dnf-plugin-versionlock)) must be installed for dnf to honour the list.
author:
  - dlops.gpu maintainers (@dlops)
options:
  name:
    description: The packages.
    type: list
    elements: str
    required: true
  state:
    description: C(held) or C(unheld).
    type: str
    choices: [held, unheld]
    default: held
  manager:
    description: The package manager whose holds to set.
    type: str
    choices: [apt, dnf]
    default: apt
  version:
    description: With C(dnf), the version-release to lock every package at (epoch 0); omitted, each installed package is locked at its installed version.
    type: str
  versionlock_list:
    description: With C(dnf), the versionlock plugin's list.
    type: path
    default: /etc/dnf/plugins/versionlock.list
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Hold the container toolkit
  dlops.gpu.package_hold:
    name: [nvidia-container-toolkit, nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1]

- name: Lock the driver's packages at the versions installed, on a dnf host
  dlops.gpu.package_hold:
    name: [nvidia-open, nvidia-driver-cuda, nvidia-driver-cuda-libs]
    manager: dnf

- name: Lock the container toolkit at 1.17.8-1 on a dnf host
  dlops.gpu.package_hold:
    name: [nvidia-container-toolkit, nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1]
    manager: dnf
    version: 1.17.8-1
"""

RETURN = r"""
changed_packages:
  description: The packages whose hold was set or taken back (or would be, in check mode).
  returned: always
  type: list
  elements: str
not_installed:
  description: Packages asked for that are not installed (with dnf, only when locking at the installed versions).
  returned: always
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import rpm


def selections(text):
    """dpkg-query's "name want status" lines as {name: (want, installed)}."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            found[parts[0].split(":")[0]] = (parts[1], "installed" in parts[2:])
    return found


def versionlock_lines(text, names, version=None):
    """The versionlock list with the packages' entries replaced by one per package at ``version`` (None: removed).

    ``version`` is a version-release for all (epoch 0), or a dict of name to epoch:version-release.
    """
    owned = [re.compile(r"^!?%s-([0-9]+:)?[0-9]" % re.escape(name)) for name in names]
    kept = [line for line in text.splitlines() if not any(pattern.match(line.strip()) for pattern in owned)]
    if isinstance(version, dict):
        kept.extend("%s-%s.*" % (name, version[name]) for name in names if name in version)
    elif version:
        kept.extend("%s-0:%s.*" % (name, version) for name in names)
    return "\n".join(kept) + ("\n" if kept else "")


def rpm_versions(module, names):
    """{name: epoch:version-release} of the installed packages among names."""
    _rc, out, _err = module.run_command([module.get_bin_path("rpm", required=True), "-q", "--qf", rpm.QUERY_FORMAT]
                                        + names)
    return dict((name, evr) for name, evr in rpm.installed(out).items() if name in names)


def dnf_hold(module, names, hold):
    path, version = module.params["versionlock_list"], module.params["version"]
    missing = []
    if hold and not version:
        version = rpm_versions(module, names)
        missing = [name for name in names if name not in version]
    try:
        current = atomic_file.read(path)
    except atomic_file.FileWriteError as exc:
        module.fail_json(msg="%s; nothing was changed" % exc)
    before = current.decode("utf-8", "surrogateescape") if current is not None else ""
    after = versionlock_lines(before, names, version if hold else None)
    old, new = set(before.splitlines()), set(after.splitlines())
    todo = [name for name in names if any(line.startswith(name + "-") for line in old.symmetric_difference(new))]
    result = dict(changed=after != before, changed_packages=todo, not_installed=missing)
    if after != before:
        result["diff"] = dict(before=before, after=after, before_header=path, after_header=path)
        # Through the collection's one write helper: a symlinked list keeps its link, an immutable or read-only
        # one fails with what to do (in check mode too), and the rename never leaves half a list.
        try:
            atomic_file.check_writable(atomic_file.resolve(path))
            if not module.check_mode:
                atomic_file.write(path, after.encode("utf-8", "surrogateescape"))  # a new list gets 0644
        except atomic_file.FileWriteError as exc:
            module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["held", "unheld"], default="held"),
            manager=dict(type="str", choices=["apt", "dnf"], default="apt"),
            version=dict(type="str"),
            versionlock_list=dict(type="path", default="/etc/dnf/plugins/versionlock.list"),
        ),
        supports_check_mode=True,
    )
    names, hold = module.params["name"], module.params["state"] == "held"
    if module.params["manager"] == "dnf":
        dnf_hold(module, names, hold)
    dpkg_query = module.get_bin_path("dpkg-query", required=True)
    # dpkg-query exits 1 when a name is unknown; the known ones are still listed.
    _rc, out, _err = module.run_command([dpkg_query, "-W", "-f=${Package} ${Status}\n"] + names)
    found = selections(out)
    not_installed = [name for name in names if not found.get(name, ("", False))[1]]
    todo = [name for name in names if name not in not_installed and (found[name][0] == "hold") != hold]
    before = "".join("%s %s\n" % (name, found[name][0]) for name in names if name not in not_installed)
    after = "".join("%s %s\n" % (name, ("hold" if hold else "install") if name in todo else found[name][0])
                    for name in names if name not in not_installed)
    result = dict(changed=bool(todo), changed_packages=todo, not_installed=not_installed)
    if todo:
        result["diff"] = dict(before=before, after=after, before_header="dpkg selections", after_header="dpkg selections")
        if not module.check_mode:
            apt_mark = module.get_bin_path("apt-mark", required=True)
            module.run_command([apt_mark, "hold" if hold else "unhold"] + todo, check_rc=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
