#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: repo_key
short_description: Install a package repository's signing key, only the key whose fingerprint is named
version_added: 0.1.0
description:
  - Downloads an OpenPGP public key file (armored or binary, one key or a bundle of several) and writes to
    O(dest), as a binary keyring, only the transferable public key whose primary key fingerprint is
    O(fingerprint) (its primary key, its user IDs with their self-signatures, its subkeys with their binding
    signatures). Every other key in the file is dropped, since apt's gpgv and dnf trust every key in the keyring
    they are given; the diff and RV(dropped) name what was dropped.
  - Refuses, writing nothing, a file that holds anything that is not part of a public key (a secret key,
    literal data, an encrypted message), a damaged file (bad armor, base64 or checksum, truncated packets), a
    file in which no primary key has O(fingerprint) (the fingerprint of a subkey is not accepted; name the
    primary key), and a key that is revoked or expired (the message gives the date).
  - The signatures it relies on are verified with the named primary key, in pure Python on the host (RSA,
    DSA, ECDSA (NIST P-256, P-384, P-521) and EdDSA/Ed25519, over SHA-1 or SHA-2, version 4 keys and
    signatures). Only signatures that verify count; every other one is left out of what is written and
    reported in RV(dropped), so a packet anyone can append to a vendor's key (a forged subkey binding,
    self-signature, expiry, revocation or user ID) changes nothing.
  - Revocation and expiry are read from signatures that verify only (the newest self-signature or direct-key
    signature gives the expiry, as gpg reads it). A key whose signatures cannot be verified here (another
    algorithm, hash or version; the message names it) is refused, since whether it is revoked or expired
    cannot be told.
  - Subkeys without a binding signature by the primary key that verifies, and subkeys revoked or expired by
    one, are dropped, so that even a tool that does not check subkeys (older rpm) cannot use them. User IDs
    without a self-signature that verifies, or revoked by one, are dropped. Certifications by other keys
    (third-party signatures) are dropped; apt and dnf do not use them, and only the vendor key's own material
    is written. A key revocation by a designated revoker (another key) cannot be verified and is dropped, as
    gpgv given only this keyring ignores it.
  - A keyring already at O(dest) that holds exactly what would be written for that key (nothing else, not
    revoked, not expired) is left as it is without downloading anything. Any other keyring there (extra keys,
    another key, armored, damaged) is replaced; the comparison is on the exact bytes written.
  - The keyring is replaced atomically (a temporary file beside it, then a rename); a O(dest) that is a symlink
    stays one and the file it points to is written. A read-only or immutable O(dest) fails with a message and
    nothing changed.
  - For C(signed_by) of M(ansible.builtin.deb822_repository) and C(signed-by) in sources, and for C(gpgkey) of
    M(ansible.builtin.yum_repository) (C(file://)); never C(apt-key).
  - Check mode downloads and decides exactly as the real run does, writing nothing.
author:
  - dlops.gpu maintainers (@dlops)
options:
  url:
    description: Where the key is published.
    type: str
    required: true
  fingerprint:
    description:
      - The primary key's fingerprint, 40 (or 64) hex digits as the vendor publishes them; spaces, colons and a
        leading C(0x) are allowed, any other character is refused.
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
  description: The primary key fingerprints in the keyring now at O(dest) (or that would be), that is the one named.
  returned: success
  type: list
  elements: str
subkeys:
  description: The fingerprints of the subkeys kept in the keyring.
  returned: success
  type: list
  elements: str
expires:
  description: When the key expires (C(YYYY-MM-DD HH:MM:SS UTC)), null when it does not.
  returned: success
  type: str
dropped:
  description: What was left out of the downloaded file; empty when nothing was downloaded.
  returned: success
  type: list
  elements: dict
  contains:
    fingerprint:
      description: The fingerprint of the key left out; for C(user ID) and C(signature), the named key's.
      type: str
    kind:
      description:
        - C(primary) (another key of the bundle), C(subkey) (a subkey of the named key), C(user ID) (a user ID or
          user attribute of the named key) or C(signature) (a signature on the named key that is not its own or
          does not verify, for example a third-party certification).
      type: str
    reason:
      description: Why it was left out.
      type: str
downloaded:
  description: Whether the key was downloaded (false when the keyring at O(dest) already was what would be written).
  returned: success
  type: bool
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import openpgp

# Vendors' keys are a few kilobytes; a bundle of every key of a distribution stays far below this.
MAX_KEY_BYTES = 4 * 1024 * 1024
MODE = 0o644  # apt reads keyrings as _apt


class RepoKeyError(Exception):
    """The key cannot be installed; the message says why and that nothing was changed."""


def download(url, validate_certs=True, timeout=30, opener=None):
    """The bytes published at ``url``, at most MAX_KEY_BYTES."""
    try:
        response = (opener or open_url)(url, validate_certs=validate_certs, timeout=timeout)
        data = response.read(MAX_KEY_BYTES + 1)
    except Exception as exc:  # urllib raises several unrelated types
        raise RepoKeyError("cannot download the key from %s: %s; nothing was changed" % (url, exc))
    if len(data) > MAX_KEY_BYTES:
        raise RepoKeyError("%s is larger than %d bytes, far more than any key file: it is not a key; nothing was "
                           "changed" % (url, MAX_KEY_BYTES))
    return data


def _describe(data):
    if data is None:
        return ""
    try:
        return "\n".join(openpgp.describe(data)) + "\n"
    except openpgp.OpenPGPError as exc:
        return "(not a usable keyring: %s)\n" % exc


def _installed(before, wanted, now):
    """The selection of the keyring already there when it is exactly what would be written, else None."""
    if before is None:
        return None
    try:
        chosen = openpgp.select_key(before, wanted, now)
    except openpgp.OpenPGPError:
        return None
    return chosen if chosen["keyring"] == before else None


def plan(params, now, check_mode, opener=None):
    """The result of installing the key (a dict for exit_json) and the bytes to write (None: nothing to write)."""
    try:
        wanted = openpgp.normalize(params["fingerprint"])
    except openpgp.OpenPGPError as exc:
        raise RepoKeyError("%s, in fingerprint %r; nothing was changed" % (exc, params["fingerprint"]))
    if len(wanted) not in (40, 64):
        raise RepoKeyError("fingerprint %r is not a 40 or 64 digit hex fingerprint (the primary key's, as the vendor "
                           "publishes it); nothing was changed" % params["fingerprint"])
    dest = params["dest"]
    try:
        target = atomic_file.resolve(dest)
        before = atomic_file.read(target)
    except atomic_file.FileWriteError as exc:
        raise RepoKeyError("%s; nothing was changed" % exc)
    chosen = _installed(before, wanted, now)
    downloaded = chosen is None
    if downloaded:
        data = download(params["url"], params["validate_certs"], params["timeout"], opener)
        try:
            chosen = openpgp.select_key(data, wanted, now)
        except openpgp.OpenPGPError as exc:
            raise RepoKeyError("the key at %s cannot be trusted for %s: %s; nothing was trusted or changed"
                               % (params["url"], dest, exc))
    keyring = chosen["keyring"]
    changed = keyring != before
    result = dict(changed=changed, downloaded=downloaded, fingerprints=[wanted], subkeys=chosen["subkeys"],
                  expires=openpgp.utc(chosen["expires"]) if chosen["expires"] else None, dropped=chosen["dropped"])
    if changed:
        after = _describe(keyring)
        if chosen["dropped"]:
            after += "".join("# dropped from %s: %s %s (%s)\n" % (params["url"], item["kind"], item["fingerprint"],
                                                                  item["reason"]) for item in chosen["dropped"])
        result["diff"] = dict(before=_describe(before), after=after, before_header=dest, after_header=dest)
        try:
            atomic_file.check_writable(target)
        except atomic_file.FileWriteError as exc:
            raise RepoKeyError(str(exc))
    return result, (keyring if changed and not check_mode else None)


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

    def keep_selinux_context(temp, target):
        if module.selinux_enabled():  # as atomic_move does: the replaced file's context, else the default one
            context = module.selinux_context(target) if os.path.exists(target) else module.selinux_default_context(target)
            module.set_context_if_different(temp, context, False)

    try:
        result, keyring = plan(module.params, time.time(), module.check_mode)
        if keyring is not None:
            atomic_file.write(module.params["dest"], keyring, mode=MODE, prepare=keep_selinux_context)
    except (RepoKeyError, atomic_file.FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
