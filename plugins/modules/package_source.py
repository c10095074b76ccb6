#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: package_source
short_description: A package source and the one key it trusts, checked by fingerprint, written in one step
version_added: 0.1.0
description:
  - Writes an apt source (a deb822 C(.sources) file, C(Signed-By) the keyring) or a dnf repository (a C(.repo)
    file, C(gpgkey) the keyring), and with O(key_url) the keyring it trusts, holding only the key whose fingerprint
    is O(key_fingerprint). Both are checked before either is written; the keyring is written first, so that a
    source never names a key that is not there yet. Check mode decides exactly as the real run does, and the diff
    shows both files.
  - The key plus repository pair of every role of the collection (NVIDIA's CUDA repository, its container toolkit
    repository, Debian's non-free components) goes through this module. Why not M(ansible.builtin.deb822_repository)
    with M(ansible.builtin.rpm_key) or a key download - deb822_repository needs python3-debian on the host (one
    more package and one more module run on every play, and none on an offline host without it); rpm_key imports
    every key of a bundle into rpm's database, where this module keeps only the named one in a keyring that
    C(gpgkey=file://) points at, and dnf imports that one at the first install.
  - Every field reaches a file that apt or dnf parses line by line; a value with a newline or another control
    character, a URI that is not http, https or file, a suite or component that is not one word, is refused with
    nothing changed.
  - A file is replaced atomically (a temporary file beside it, then a rename); a path that is a symlink stays one
    and the file it points to is written.
  - With O(key_url), downloads an OpenPGP public key file (armored or binary, one key or a bundle of several) and
    writes to O(keyring), as a binary keyring, only the transferable public key whose primary key fingerprint is
    O(key_fingerprint) (its primary key, its user IDs with their self-signatures, its subkeys with their binding
    signatures). Every other key in the file is dropped, since apt's gpgv and dnf trust every key in the keyring
    they are given; the diff and RV(key.dropped) name what was dropped.
  - Refuses, writing nothing, a file that holds anything that is not part of a public key (a secret key,
    literal data, an encrypted message), a damaged file (bad armor, base64 or checksum, truncated packets), a
    file in which no primary key has O(key_fingerprint) (the fingerprint of a subkey is not accepted; name the
    primary key), and a key that is revoked or expired (the message gives the date).
  - The signatures it relies on are verified with the named primary key, in pure Python on the host (RSA,
    DSA, ECDSA (NIST P-256, P-384, P-521) and EdDSA/Ed25519, over SHA-1 or SHA-2, version 4 keys and
    signatures). Only signatures that verify count; every other one is left out of what is written and
    reported in RV(key.dropped), so a packet anyone can append to a vendor's key (a forged subkey binding,
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
  - A keyring already at O(keyring) that holds exactly what would be written for that key (nothing else, not
    revoked, not expired) is left as it is without downloading anything. Any other keyring there (extra keys,
    another key, armored, damaged) is replaced; the comparison is on the exact bytes written.
  - The keyring is replaced atomically (a temporary file beside it, then a rename); a O(keyring) that is a symlink
    stays one and the file it points to is written. A read-only or immutable O(keyring) fails with a message and
    nothing changed.
  - Check mode downloads and decides exactly as the real run does, writing nothing.
author:
  - dlops.gpu maintainers (@dlops)
options:
  name:
    description: The source's name - the file's name (C(<name>.sources), C(<name>.repo)) and dnf's repository id.
    type: str
    required: true
  format:
    description: C(deb822) for apt, C(yum) for dnf.
    type: str
    choices: [deb822, yum]
    required: true
  uris:
    description: Where the packages are (apt C(URIs); dnf C(baseurl)). http, https or file URIs.
    type: list
    elements: str
    required: true
  suites:
    description: apt's C(Suites) (C(/) for a flat repository such as NVIDIA's). Required for C(deb822); not used for
      C(yum).
    type: list
    elements: str
    default: []
  components:
    description: apt's C(Components) (none for a flat repository); not used for C(yum).
    type: list
    elements: str
    default: []
  description:
    description: dnf's C(name); a comment line in a deb822 source. O(name) when empty.
    type: str
    default: ""
  keyring:
    description:
      - The keyring the source trusts (apt C(Signed-By), dnf C(gpgkey=file://)). With O(key_url) it is written here;
        without, it must exist already (a distribution's own keyring).
    type: path
    required: true
  key_url:
    description: Where the key is published; with O(key_fingerprint).
    type: str
  key_fingerprint:
    description:
      - The primary key's fingerprint, 40 (or 64) hex digits as the vendor publishes them; spaces, colons and a
        leading C(0x) are allowed, any other character is refused.
    type: str
  gpgcheck:
    description: dnf checks every package's signature with the key (C(yum) only; apt always checks the signed lists).
    type: bool
    default: true
  repo_gpgcheck:
    description: dnf checks the repository metadata's signature with the key (C(yum) only).
    type: bool
    default: false
  validate_certs:
    description: Verify TLS certificates (the key's download, and dnf's C(sslverify)).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the key's download.
    type: int
    default: 30
  dest:
    description:
      - The source file. C(/etc/apt/sources.list.d/<name>.sources) or C(/etc/yum.repos.d/<name>.repo) when omitted.
      - It must end in C(.sources) (C(deb822)) or C(.repo) (C(yum)), the names apt and dnf read in those formats.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Add NVIDIA's CUDA repository, its key checked by fingerprint
  dlops.gpu.package_source:
    name: nvidia-cuda
    format: deb822
    uris: [https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/]
    suites: [/]
    keyring: /etc/apt/keyrings/nvidia-cuda.gpg
    key_url: https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/3bf863cc.pub
    key_fingerprint: EB693B3035CD5710E231E123A4B469963BF863CC

- name: Enable Debian's non-free components, trusted through Debian's own keyring
  dlops.gpu.package_source:
    name: debian-nonfree
    format: deb822
    uris: [https://deb.debian.org/debian]
    suites: [bookworm, bookworm-updates]
    components: [contrib, non-free, non-free-firmware]
    keyring: /usr/share/keyrings/debian-archive-keyring.gpg
"""

RETURN = r"""
dest:
  description: The source file.
  returned: success
  type: str
key_changed:
  description: Whether the keyring was (or would be) written.
  returned: success
  type: bool
source_changed:
  description: Whether the source file was (or would be) written.
  returned: success
  type: bool
created:
  description:
    - The files this run wrote that did not exist before (the keyring, the source file), none in check mode.
    - What to take off again to leave the host as it was, should a later step refuse the source.
  returned: success
  type: list
  elements: str
key:
  description: What became of the key, with O(key_url).
  returned: success and O(key_url) given
  type: dict
  contains:
    fingerprints:
      description: The primary key fingerprints in the keyring at O(keyring) now (or that would be), the one named.
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
      description: Whether the key was downloaded (false when O(keyring) already held what would be written).
      returned: success
      type: bool
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import package_source
from ansible_collections.dlops.gpu.plugins.module_utils import repo_keyring


def plan(params, now, check_mode, opener=None):
    """The result (a dict for exit_json) and what to write: [(path, bytes, mode)], keyring first."""
    package_source.check(params)
    dest = params["dest"] or package_source.DESTS[params["format"]] % params["name"]
    result, writes, diffs = dict(dest=dest, key_changed=False), [], []
    if params["key_url"]:
        key, keyring = repo_keyring.plan(dict(url=params["key_url"], fingerprint=params["key_fingerprint"],
                                              dest=params["keyring"], validate_certs=params["validate_certs"],
                                              timeout=params["timeout"]), now, check_mode, opener)
        result["key_changed"] = key.pop("changed")
        if "diff" in key:
            diffs.append(key.pop("diff"))
        result["key"] = key
        if keyring is not None:
            writes.append((params["keyring"], keyring, repo_keyring.MODE))
    elif not os.path.isfile(params["keyring"]):
        raise package_source.SourceError("keyring %s does not exist: give key_url and key_fingerprint to write it, "
                                         "or name the keyring the distribution installs; nothing was changed"
                                         % params["keyring"])
    content = package_source.render(params).encode("utf-8")
    try:
        target = atomic_file.resolve(dest)
        before = atomic_file.read(target)
    except atomic_file.FileWriteError as exc:
        raise package_source.SourceError("%s; nothing was changed" % exc)
    result["source_changed"] = content != before
    if result["source_changed"]:
        atomic_file.check_writable(target)
        diffs.append(dict(before=(before or b"").decode("utf-8", "replace"), after=content.decode("utf-8"),
                          before_header=dest, after_header=dest))
        if not check_mode:
            writes.append((dest, content, 0o644))
    result.update(changed=result["key_changed"] or result["source_changed"], diff=diffs,
                  created=[path for path, _data, _mode in writes if not os.path.lexists(path)])
    return result, writes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            format=dict(type="str", choices=["deb822", "yum"], required=True),
            uris=dict(type="list", elements="str", required=True),
            suites=dict(type="list", elements="str", default=[]),
            components=dict(type="list", elements="str", default=[]),
            description=dict(type="str", default=""),
            keyring=dict(type="path", required=True),
            key_url=dict(type="str", no_log=False),
            key_fingerprint=dict(type="str", no_log=False),
            gpgcheck=dict(type="bool", default=True),
            repo_gpgcheck=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
            dest=dict(type="path"),
        ),
        required_together=[("key_url", "key_fingerprint")],
        supports_check_mode=True,
    )

    def keep_selinux_context(temp, target):
        if module.selinux_enabled():  # as atomic_move does: the replaced file's context, else the default one
            context = (module.selinux_context(target) if os.path.exists(target)
                       else module.selinux_default_context(target))
            module.set_context_if_different(temp, context, False)

    try:
        result, writes = plan(module.params, time.time(), module.check_mode)
    except (package_source.SourceError, repo_keyring.RepoKeyError, atomic_file.FileWriteError) as exc:
        module.fail_json(msg=str(exc))
    written = []
    try:
        for path, data, mode in writes:
            atomic_file.write(path, data, mode=mode, prepare=keep_selinux_context)
            written.append(path)
    except atomic_file.FileWriteError as exc:
        # The keyring is written first: one this call created goes again, so that a failed source write leaves
        # no key trusted for nothing. A keyring it replaced keeps the new key, which was checked.
        for path in written:
            if path in result["created"]:
                os.unlink(path)
        module.fail_json(msg="%s%s" % (exc, "; the keyring written before it was taken off again"
                                       if set(written) & set(result["created"]) else ""))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
