#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: package_hold
short_description: Hold Debian packages so that upgrades leave them alone, in one call
version_added: 0.1.0
description:
  - Marks installed packages as held (C(apt-mark hold)), so that C(apt upgrade), C(apt full-upgrade) and
    unattended-upgrades keep their version; or takes the hold back.
  - Reads every package's selection once and changes only those that differ; packages that are not installed are
    reported and left alone.
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Hold the container toolkit
  dlops.gpu.package_hold:
    name: [nvidia-container-toolkit, nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1]
"""

RETURN = r"""
changed_packages:
  description: The packages whose hold was set or taken back (or would be, in check mode).
  returned: always
  type: list
  elements: str
not_installed:
  description: Packages asked for that are not installed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule


def selections(text):
    """dpkg-query's "name want status" lines as {name: (want, installed)}."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            found[parts[0].split(":")[0]] = (parts[1], "installed" in parts[2:])
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["held", "unheld"], default="held"),
        ),
        supports_check_mode=True,
    )
    names, hold = module.params["name"], module.params["state"] == "held"
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
