#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cuda_select
short_description: Point /usr/local/cuda at an installed CUDA toolkit, atomically
version_added: 0.1.0
description:
  - Points C(<prefix>/cuda) (and C(<prefix>/cuda-X)) at C(<prefix>/cuda-X.Y).
  - A plain link is replaced by renaming a new link over it (rename(2)), never unlink-then-create, so programs
    resolving paths under C(<prefix>/cuda) at that moment see the old or the new toolkit.
  - When update-alternatives manages the link as the alternative C(cuda) (or C(cuda-X) for C(<prefix>/cuda-X)), as
    C(update-alternatives --query) reports it (NVIDIA's C(cuda-toolkit-X-Y) packages register one), the switch goes
    through C(update-alternatives --set), registering the toolkit first when it is not an alternative yet; the
    choice is kept in manual mode, so package upgrades leave it. Only those two names are ever changed.
  - A link that leads into C(/etc/alternatives) under any other name (an alternative that is not the toolkit's) is
    refused with nothing changed, never followed and never switched.
  - The switch holds an exclusive lock (flock(2) on C(/run/dlops-gpu/cuda-switch.lock), the same lock the
    C(cuda-switch) command takes) from reading the links to the last rename, so two switches at once always leave
    C(<prefix>/cuda) and C(<prefix>/cuda-X) at the same toolkit.
  - The lock's folder C(/run/dlops-gpu) is created root-owned with mode C(0755) when missing, and refused when it is
    a symlink or anyone but root can write it; the lock file is opened without following a symlink (a link there is
    refused) and must be a regular file owned by root (C(0600)). A lock another process holds longer than
    I(lock_timeout) fails with the pid that holds it, read from C(/proc/locks). Each refusal changes nothing.
  - A toolkit counts as installed when its folder holds a C(version.json) naming a version of its X.Y, or, without
    one, C(nvcc) or C(libcudart). Any other version fails with the installed ones listed.
  - Runs C(ldconfig) after a switch so the linker cache follows.
author:
  - dlops.gpu maintainers (@dlops)
options:
  version:
    description: The toolkit to make the default, C(X.Y).
    type: str
    required: true
  prefix:
    description: The folder holding the C(cuda-X.Y) toolkits and the C(cuda) link.
    type: path
    default: /usr/local
  major_link:
    description: Also point C(<prefix>/cuda-X) at the toolkit.
    type: bool
    default: true
  ldconfig:
    description: Run C(ldconfig) after a switch.
    type: bool
    default: true
  lock_timeout:
    description: Seconds to wait for another switch that holds the lock before failing.
    type: int
    default: 60
  pending:
    description:
      - The toolkit is installed by an earlier task of this run. In check mode, where that task changed nothing,
        the switch is reported as the real run will make it. Outside check mode it changes nothing - the toolkit
        must be there.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Make CUDA 12.4 the default
  dlops.gpu.cuda_select:
    version: "12.4"

- name: Switch a toolkit tree somewhere else
  dlops.gpu.cuda_select:
    version: "13.0"
    prefix: /opt/nvidia
"""

RETURN = r"""
version:
  description: The toolkit now the default.
  returned: success
  type: str
  sample: "12.4"
path:
  description: Its folder.
  returned: success
  type: str
  sample: /usr/local/cuda-12.4
previous:
  description: What C(<prefix>/cuda) pointed at before (the link's own target, or the alternative's value), or None.
  returned: success
  type: str
switched:
  description: The links changed (or that would be, in check mode).
  returned: success
  type: list
  elements: str
method:
  description: C(rename) or C(alternatives) for the C(cuda) link.
  returned: success
  type: str
installed:
  description: The installed toolkits, X.Y to folder.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch


def main():
    module = AnsibleModule(
        argument_spec=dict(
            version=dict(type="str", required=True),
            prefix=dict(type="path", default="/usr/local"),
            major_link=dict(type="bool", default=True),
            ldconfig=dict(type="bool", default=True),
            lock_timeout=dict(type="int", default=60),
            pending=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    prefix, version = module.params["prefix"], module.params["version"]
    toolkits = cuda_switch.installed(prefix)
    alternatives = cuda_switch.Alternatives(module.get_bin_path("update-alternatives") or "update-alternatives")
    changed = []
    try:
        if module.check_mode:
            steps = cuda_switch.plan(prefix, version, module.params["major_link"], alternatives,
                                     pending=module.params["pending"])
        else:
            steps, changed = cuda_switch.switch(prefix, version, module.params["major_link"], alternatives,
                                                lock_timeout=module.params["lock_timeout"])
    except (cuda_switch.SwitchError, OSError) as exc:
        module.fail_json(msg="switching to CUDA %s: %s" % (version, exc), installed=toolkits)
    pending = [step.link for step in cuda_switch.pending(steps)]
    before, after = cuda_switch.describe(steps)
    result = dict(
        changed=bool(pending),
        version=version,
        path=steps[0].target,
        previous=steps[0].current,
        switched=pending,
        method="alternatives" if steps[0].alternative else "rename",
        installed=toolkits,
    )
    if pending:
        result["diff"] = dict(before=before, after=after, before_header="links", after_header="links")
    if changed and module.params["ldconfig"]:
        ldconfig = module.get_bin_path("ldconfig")
        if ldconfig:
            module.run_command([ldconfig], check_rc=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
