# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keys: armor, packets and fingerprints (RFC 4880, RFC 9580), standard library only.

Enough to check that a repository key is the one an operator named by its
fingerprint, before apt ever trusts it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re
import struct

PUBLIC_KEY = 6
PUBLIC_SUBKEY = 14


class OpenPGPError(Exception):
    pass


def dearmor(data):
    """Binary packets of an ASCII-armored key; binary input comes back as it is."""
    if b"-----BEGIN PGP" not in data:
        return data
    text = data.decode("ascii", "replace")
    match = re.search(r"-----BEGIN PGP [A-Z ]+-----\r?\n(.*?)-----END PGP", text, re.S)
    if not match:
        raise OpenPGPError("the armored key has no END line")
    lines = match.group(1).splitlines()
    while lines and ":" in lines[0]:  # armor headers
        lines.pop(0)
    body = "".join(line.strip() for line in lines if line.strip() and not line.startswith("="))
    try:
        return base64.b64decode(body)
    except (ValueError, TypeError) as exc:
        raise OpenPGPError("the armored key is not valid base64: %s" % exc)


def packets(data):
    """[(tag, body)] of a binary OpenPGP message."""
    found = []
    pos = 0
    while pos < len(data):
        first = data[pos]
        if not first & 0x80:
            raise OpenPGPError("byte %d is not an OpenPGP packet header" % pos)
        if first & 0x40:  # new format
            tag = first & 0x3F
            octet = data[pos + 1]
            if octet < 192:
                length, pos = octet, pos + 2
            elif octet < 224:
                length, pos = ((octet - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif octet == 255:
                length, pos = struct.unpack(">I", data[pos + 2:pos + 6])[0], pos + 6
            else:
                raise OpenPGPError("partial body lengths do not occur in keys")
        else:
            tag = (first >> 2) & 0x0F
            kind = first & 0x03
            if kind == 3:
                raise OpenPGPError("indeterminate packet lengths do not occur in keys")
            size = (1, 2, 4)[kind]
            length = int.from_bytes(data[pos + 1:pos + 1 + size], "big")
            pos += 1 + size
        if pos + length > len(data):
            raise OpenPGPError("the key is truncated")
        found.append((tag, data[pos:pos + length]))
        pos += length
    return found


def fingerprint(body):
    """Fingerprint of a public key packet body, upper-case hex."""
    version = body[0]
    if version == 4:
        digest = hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body)
    elif version in (5, 6):
        digest = hashlib.sha256((b"\x9a" if version == 5 else b"\x9b") + struct.pack(">I", len(body)) + body)
    else:
        raise OpenPGPError("OpenPGP key version %d is not supported" % version)
    return digest.hexdigest().upper()


def fingerprints(data):
    """{'primary': [...], 'subkeys': [...]} of every key in a keyring (armored or binary)."""
    result = {"primary": [], "subkeys": []}
    for tag, body in packets(dearmor(data)):
        if tag == PUBLIC_KEY:
            result["primary"].append(fingerprint(body))
        elif tag == PUBLIC_SUBKEY:
            result["subkeys"].append(fingerprint(body))
    if not result["primary"]:
        raise OpenPGPError("no public key in the data")
    return result


def normalize(value):
    return re.sub(r"[^0-9A-Fa-f]", "", value or "").upper()
