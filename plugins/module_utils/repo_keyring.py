# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A package source's signing key: downloaded, only the key with the named fingerprint kept, as a binary keyring.

What is kept and what is refused: see the package_source module's documentation. Used by that module only, which
writes the keyring and the source that trusts it in one step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    """The result of installing the key (a dict for exit_json) and the bytes to write (None: nothing to write).

    params: url, fingerprint, dest (the keyring), validate_certs, timeout."""
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
