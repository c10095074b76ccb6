#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cuda_cudnn
short_description: Put one cuDNN release into a CUDA toolkit folder, so that switching CUDA switches cuDNN
version_added: 0.1.0
description:
  - Compares the C(cudnn) entry of the toolkit's C(version.json) with the release and CUDA variant asked for, and
    does nothing when they agree.
  - Otherwise verifies the archive against its sha256, unpacks it in a staging folder inside the toolkit, renames
    each header into C(include/) and each library into C(lib64/) (or C(lib/)), removes the files of the cuDNN it
    replaces, and records the release in C(version.json) last.
  - The variant must match the toolkit's CUDA major (a C(cuda12) build in a CUDA 13 toolkit fails).
  - Before anything is changed, refuses an archive whose C(relative_path) is absolute, holds C(..) or leads out
    of O(archive_dir), or whose sha256, version or variant is malformed.
  - Unpacks member by member on resolved paths (as M(dlops.gpu.cuda_toolkit) does) and refuses an archive whose
    C(include) or C(lib) is a link, whose links climb with C(..), or a toolkit whose C(include), C(lib) or
    C(lib64) leads outside the toolkit. A refusal leaves the toolkit as it was and no staging folder.
author:
  - dlops.gpu maintainers (@dlops)
options:
  toolkit:
    description: The toolkit folder, C(<prefix>/cuda-X.Y).
    type: path
    required: true
  cudnn:
    description: The archive as M(dlops.gpu.redist_fetch) returns it (version, variant, sha256, relative_path).
    type: dict
  archive_dir:
    description: The folder holding the archive under its relative_path.
    type: path
  state:
    description: Whether cuDNN should be in the toolkit.
    type: str
    choices: [present, absent]
    default: present
  remove_archives:
    description:
      - Delete the archive from I(archive_dir) once the install is done or has failed, and the folders it leaves
        empty.
    type: bool
    default: false
  pending:
    description:
      - The toolkit is installed by an earlier task of this run. In check mode, where that task changed nothing,
        a missing toolkit folder is taken as a toolkit without cuDNN, so that the install is reported as the real
        run will make it. Outside check mode it changes nothing - the toolkit must be there.
    type: bool
    default: false
notes:
  - An action plugin runs first on the controller - when I(cudnn) carries the C(path) of its archive in the
    controller's cache (as M(dlops.gpu.redist_fetch) returns it), the archive is copied to I(archive_dir) on the
    host, then the module unpacks. Check mode copies nothing and reports the install the real run makes.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Put cuDNN 9.13 into CUDA 12.8
  dlops.gpu.cuda_cudnn:
    toolkit: /usr/local/cuda-12.8
    cudnn: "{{ fetched.releases['9.13/cuda12/linux-x86_64'].archives.cudnn }}"
    archive_dir: /var/cache/dlops-gpu/redist/cudnn
"""

RETURN = r"""
differences:
  description: What differed from the request (empty when nothing had to change).
  returned: always
  type: list
  elements: str
"""

import atexit
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import redist


def main():
    module = AnsibleModule(
        argument_spec=dict(
            toolkit=dict(type="path", required=True),
            cudnn=dict(type="dict"),
            archive_dir=dict(type="path"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            pending=dict(type="bool", default=False),
            remove_archives=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ("cudnn", "archive_dir"))],
        supports_check_mode=True,
    )
    params = module.params
    toolkit = params["toolkit"]
    result = dict(changed=False, differences=[])
    match = re.search(r"cuda-([0-9]+)\.[0-9]+$", toolkit.rstrip("/"))
    foreseen = module.check_mode and params["pending"] and match and not os.path.lexists(toolkit)
    if not (os.path.isdir(toolkit) or foreseen) or not match:
        module.fail_json(msg="%s is not an installed CUDA toolkit folder (cuda-X.Y)" % toolkit, **result)
    record = redist.read_record(toolkit)
    have = (record or {}).get("cudnn") or {}
    before = "cudnn %s %s\n" % (have.get("version"), have.get("variant")) if have else ""

    if params["state"] == "absent":
        if not have and not redist.cudnn_files(toolkit):
            module.exit_json(**result)
        result.update(changed=True, differences=["remove cuDNN"], diff=dict(before=before, after=""))
        if not module.check_mode:
            try:
                redist.remove_cudnn(toolkit)
            except (redist.RedistError, OSError, IOError, EnvironmentError) as exc:
                module.fail_json(msg="cuDNN could not be removed from %s: %s" % (toolkit, exc), **result)
        module.exit_json(**result)

    cudnn = params["cudnn"]
    try:
        archive = redist.check_cudnn(cudnn, params["archive_dir"])
    except redist.RedistError as exc:
        module.fail_json(msg="cuDNN was not installed into %s: %s; nothing was changed" % (toolkit, exc), **result)
    if params["remove_archives"] and not module.check_mode:
        atexit.register(redist.remove_archives, params["archive_dir"], [archive])
    if cudnn.get("variant") != "cuda%s" % match.group(1):
        module.fail_json(msg="cuDNN %s built for %s does not fit %s (CUDA %s): use the cuda%s variant" % (
            cudnn.get("version"), cudnn.get("variant"), toolkit, match.group(1), match.group(1)), **result)
    differences = redist.cudnn_differences(record, cudnn)
    if not differences:
        module.exit_json(**result)
    result.update(changed=True, differences=differences,
                  diff=dict(before=before, after="cudnn %s %s\n" % (cudnn["version"], cudnn["variant"]),
                            before_header=toolkit, after_header=toolkit))
    if not module.check_mode:
        try:
            redist.install_cudnn(toolkit, cudnn, archive)
        except (redist.RedistError, OSError, IOError, EnvironmentError) as exc:
            module.fail_json(msg="cuDNN %s was not installed into %s: %s" % (cudnn["version"], toolkit, exc),
                             **result)
        except Exception as exc:  # never a traceback
            module.fail_json(msg="cuDNN %s was not installed into %s: %s: %s" % (
                cudnn["version"], toolkit, type(exc).__name__, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
