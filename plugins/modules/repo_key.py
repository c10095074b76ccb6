#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: repo_key
short_description: Install a package repository's signing key only when its fingerprint is the one named
version_added: 0.1.0
description:
  - Downloads an OpenPGP public key (armored or binary), computes the fingerprints of its primary keys and writes
    it as a binary keyring to O(dest) only when one of them is O(fingerprint); otherwise fails, naming the
    fingerprints found, and writes nothing.
  - A keyring already at O(dest) holding the fingerprint is left as it is without downloading anything.
  - For C(signed_by) of M(ansible.builtin.deb822_repository) and C(signed-by) in sources; never C(apt-key).
  - Check mode downloads and checks the key too, so it fails where the real run would.
author:
  - dlops.gpu maintainers (@dlops)
options:
  url:
    description: Where the key is published.
    type: str
    required: true
  fingerprint:
    description: The primary key's fingerprint (spaces allowed), as the vendor publishes it.
    type: str
    required: true
  dest:
    description: The keyring file to write, for example C(/etc/apt/keyrings/nvidia-cuda.gpg).
    type: path
    required: true
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the download.
    type: int
    default: 30
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Trust NVIDIA's CUDA repository key, checked by fingerprint
  dlops.gpu.repo_key:
    url: https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/3bf863cc.pub
    fingerprint: EB693B3035CD5710E231E123A4B469963BF863CC
    dest: /etc/apt/keyrings/nvidia-cuda.gpg
"""

RETURN = r"""
fingerprints:
  description: The primary key fingerprints in the keyring now at O(dest) (or that would be).
  returned: success
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.dlops.gpu.plugins.module_utils import openpgp


def _installed(dest, wanted):
    try:
        with open(dest, "rb") as handle:
            found = openpgp.fingerprints(handle.read())["primary"]
    except (IOError, OSError, openpgp.OpenPGPError):
        return None
    return found if wanted in found else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            fingerprint=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    wanted = openpgp.normalize(params["fingerprint"])
    if len(wanted) not in (40, 64):
        module.fail_json(msg="fingerprint %r is not a 40 or 64 digit hex fingerprint" % params["fingerprint"])
    present = _installed(params["dest"], wanted)
    if present:
        module.exit_json(changed=False, fingerprints=present)
    try:
        data = open_url(params["url"], validate_certs=params["validate_certs"], timeout=params["timeout"]).read()
    except Exception as exc:  # urllib raises several unrelated types
        module.fail_json(msg="cannot download the key from %s: %s" % (params["url"], exc))
    try:
        found = openpgp.fingerprints(data)
    except openpgp.OpenPGPError as exc:
        module.fail_json(msg="%s is not an OpenPGP public key: %s" % (params["url"], exc))
    if wanted not in found["primary"]:
        module.fail_json(msg="the key at %s has fingerprint %s, not %s: nothing was trusted" % (
            params["url"], ", ".join(found["primary"]), wanted), fingerprints=found["primary"])
    result = dict(changed=True, fingerprints=found["primary"],
                  diff=dict(before="" if not os.path.exists(params["dest"]) else "another key\n",
                            after="OpenPGP key %s\n" % wanted, before_header=params["dest"],
                            after_header=params["dest"]))
    if not module.check_mode:
        directory = os.path.dirname(params["dest"]) or "."
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".repo-key-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(openpgp.dearmor(data))
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, params["dest"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
