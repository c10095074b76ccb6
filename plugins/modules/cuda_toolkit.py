#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cuda_toolkit
short_description: Install or remove one CUDA toolkit from NVIDIA redist archives, in one rename
version_added: 0.1.0
description:
  - Compares C(<prefix>/cuda-X.Y/version.json) with the release and components asked for, and does nothing when
    they agree.
  - Otherwise verifies every archive against its sha256 first, unpacks them into a staging folder beside the
    target, writes C(version.json) last and renames the staging folder into C(<prefix>/cuda-X.Y). An interrupted
    or failed run leaves the old toolkit (or none) at the target; the next run removes the staging folder and
    starts again.
  - Redist archives keep libraries in C(lib/); a C(lib64) link to it is added, as installed toolkits have.
  - Toolkits this module did not install (no C(dlops_gpu) key in their C(version.json), such as those of
    NVIDIA's packages) are never replaced or removed.
  - C(state=absent) refuses to remove the toolkit C(<prefix>/cuda) points at.
  - Before anything is changed, refuses components whose name is not a plain name, whose C(relative_path) is
    absolute, holds C(..) or leads out of O(archive_dir), or whose sha256 or version is malformed.
  - Unpacks member by member on resolved paths, as tarfile's data filter does - it refuses absolute names,
    C(..), links that lead out of the toolkit (however chained), hard links to anything but a file unpacked
    before, writing through a link, devices and fifos; it drops setuid, setgid, sticky and group/other write
    bits and makes root the owner. A refused or damaged archive leaves no staging folder and the target as it
    was, and the message names the archive and the member.
author:
  - dlops.gpu maintainers (@dlops)
options:
  version:
    description: The release, C(X.Y.Z) for C(state=present), C(X.Y) or C(X.Y.Z) for C(state=absent).
    type: str
    required: true
  components:
    description:
      - The components, as M(dlops.gpu.redist_fetch) returns them (name to a dict with version, sha256 and
        relative_path, plus title).
    type: dict
    default: {}
  archive_dir:
    description: The folder holding the archives under their relative_path.
    type: path
  platform:
    description: The manifest platform the archives were built for (recorded in version.json).
    type: str
    default: linux-x86_64
  prefix:
    description: The folder holding the C(cuda-X.Y) toolkits.
    type: path
    default: /usr/local
  state:
    description: Whether the toolkit should be there.
    type: str
    choices: [present, absent]
    default: present
  remove_archives:
    description:
      - Delete the archives from I(archive_dir) once the install is done or has failed, and the folders they leave
        empty.
    type: bool
    default: false
  default:
    description:
      - For I(state=absent), the default toolkit (C(X.Y)) that the run leaves, when a switch before this task moves
        it. The default is never removed; in check mode, where that switch changed nothing, the toolkit is judged
        against I(default) instead of the C(cuda) link, so that check mode predicts the real run.
    type: str
notes:
  - An action plugin runs first on the controller - each component that carries the C(path) of its archive in the
    controller's cache (as M(dlops.gpu.redist_fetch) returns it) is copied to I(archive_dir) on the host, then the
    module unpacks. Check mode copies nothing and reports the install the real run makes. Components without a
    C(path) must already be on the host.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Install CUDA 12.8.1 from archives already copied to the host
  dlops.gpu.cuda_toolkit:
    version: "12.8.1"
    components: "{{ fetched.releases['12.8/linux-x86_64'].archives }}"
    archive_dir: /var/cache/dlops-gpu/redist/cuda

- name: Remove CUDA 12.4
  dlops.gpu.cuda_toolkit:
    version: "12.4"
    state: absent
"""

RETURN = r"""
path:
  description: The toolkit folder.
  returned: always
  type: str
  sample: /usr/local/cuda-12.8
differences:
  description: What differed from the request (empty when nothing had to change).
  returned: always
  type: list
  elements: str
  sample: ["not installed"]
"""

import atexit
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import redist
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch


def _summary(record):
    if not record:
        return ""
    lines = ["%s %s" % (k, (v or {}).get("version")) for k, v in sorted(record.items())
             if isinstance(v, dict) and "version" in v]
    return "\n".join(lines) + "\n"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            version=dict(type="str", required=True),
            components=dict(type="dict", default={}),
            archive_dir=dict(type="path"),
            platform=dict(type="str", default="linux-x86_64"),
            prefix=dict(type="path", default="/usr/local"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            remove_archives=dict(type="bool", default=False),
            default=dict(type="str"),
        ),
        required_if=[("state", "present", ("components", "archive_dir"))],
        supports_check_mode=True,
    )
    params = module.params
    version = params["version"]
    if len(redist.vtuple(version)) < 2:
        module.fail_json(msg="version %r is not X.Y or X.Y.Z" % version)
    path = redist.toolkit_path(params["prefix"], version)
    record = redist.read_record(path)
    managed = bool(record and redist.MARKER in record)
    result = dict(changed=False, path=path, differences=[])

    if params["state"] == "absent":
        if not os.path.lexists(path):
            module.exit_json(**result)
        if not managed:
            module.fail_json(msg="%s was not installed by dlops.gpu (no %s key in its version.json); it is left "
                                 "alone" % (path, redist.MARKER), **result)
        link = os.path.join(params["prefix"], "cuda")
        leaves = params["default"]
        if leaves and not re.match(r"[0-9]+\.[0-9]+\Z", leaves):
            module.fail_json(msg="default %r is not X.Y (such as 12.8)" % leaves, **result)
        if leaves and redist.toolkit_path(params["prefix"], leaves) == path:
            module.fail_json(msg="%s is the default toolkit this run leaves (%s): switch to another first"
                                 % (path, leaves), **result)
        if not (module.check_mode and leaves) and os.path.realpath(link) == os.path.realpath(path):
            module.fail_json(msg="%s is the default toolkit (%s points at it): switch to another first"
                                 % (path, link), **result)
        result.update(changed=True, differences=["remove"],
                      diff=dict(before=_summary(record), after="", before_header=path, after_header=path))
        if not module.check_mode:
            try:
                redist.remove_toolkit(params["prefix"], version)
            except (OSError, IOError, EnvironmentError) as exc:
                module.fail_json(msg="%s could not be removed: %s" % (path, exc), **result)
        module.exit_json(**result)

    if len(redist.vtuple(version)) != 3:
        module.fail_json(msg="state=present needs the exact release X.Y.Z, not %r" % version)
    if os.path.lexists(path) and not managed and cuda_switch.toolkit_series(path):
        module.fail_json(msg="%s holds a toolkit that dlops.gpu did not install (a package or a runfile); it is "
                             "left alone: remove it, or keep it and drop %s from the list" % (path, version),
                         **result)
    wanted = params["components"]
    try:
        paths = redist.check_components(wanted, params["archive_dir"])
    except redist.RedistError as exc:
        module.fail_json(msg="CUDA %s: %s; nothing was changed" % (version, exc), **result)
    if params["remove_archives"] and not module.check_mode:
        atexit.register(redist.remove_archives, params["archive_dir"], sorted(set(paths.values())))
    differences = redist.toolkit_differences(record, version, wanted)
    if not differences:
        module.exit_json(**result)
    after = redist.toolkit_record(version, wanted, params["platform"])
    result.update(changed=True, differences=differences,
                  diff=dict(before=_summary(record), after=_summary(after), before_header=path, after_header=path))
    if not module.check_mode:
        by_archive = dict((c["relative_path"], paths[n]) for n, c in wanted.items())
        try:
            redist.install_toolkit(params["prefix"], version, wanted, params["platform"],
                                   lambda c: by_archive[c["relative_path"]])
        except (redist.RedistError, OSError, IOError, EnvironmentError) as exc:
            module.fail_json(msg="CUDA %s was not installed: %s; %s is as it was" % (version, exc, path), **result)
        except Exception as exc:  # never a traceback: the staging folder is gone, the target untouched
            module.fail_json(msg="CUDA %s was not installed: %s: %s; %s is as it was" % (
                version, type(exc).__name__, exc, path), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
