# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keys: armor, packets, fingerprints and self-signatures (RFC 4880, RFC 9580), standard library only.

``select_key`` is what a repository key goes through before apt (``signed-by``) or dnf (``gpgkey``) sees it: out
of a downloaded key file or bundle it keeps only the transferable public key whose primary fingerprint the
operator named (its primary key packet, user IDs and user attributes with their signatures, its subkeys with
their binding signatures) and drops every other key, as a keyring given to gpgv must hold nothing else: gpgv
trusts every key in it. Anything that is not part of a transferable public key (a secret key, literal data,
an encrypted message...) makes the whole bundle refused.

Signatures are read, not verified: the standard library has no public-key cryptography, and apt's gpgv and
dnf/rpm verify every signature they use. What is read here can only make the answer stricter: a primary key
with a key revocation signature, or whose newest self-signature says it has expired, is refused; a subkey that
is revoked, expired or has no binding signature is dropped. A forged revocation or expiry could only make a key
refused or a subkey dropped, never make anything trusted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import collections
import hashlib
import re
import struct
import time

PUBLIC_KEY = 6
PUBLIC_SUBKEY = 14
SECRET_KEY = 5
SECRET_SUBKEY = 7
SIGNATURE = 2
USER_ID = 13
USER_ATTRIBUTE = 17
TRUST = 12
MARKER = 10
PADDING = 21

PACKET_NAMES = {
    1: "public-key encrypted session key", 2: "signature", 3: "symmetric-key encrypted session key",
    4: "one-pass signature", 5: "secret key", 6: "public key", 7: "secret subkey", 8: "compressed data",
    9: "symmetrically encrypted data", 10: "marker", 11: "literal data", 12: "trust", 13: "user ID",
    14: "public subkey", 17: "user attribute", 18: "encrypted and integrity protected data",
    19: "modification detection code", 20: "AEAD encrypted data", 21: "padding",
}

# Signature types (RFC 9580 5.2.1).
CERTIFICATIONS = (0x10, 0x11, 0x12, 0x13)
DIRECT_KEY = 0x1F
KEY_REVOCATION = 0x20
SUBKEY_BINDING = 0x18
SUBKEY_REVOCATION = 0x28

# Signature subpackets (RFC 9580 5.2.3.7).
SUB_CREATED = 2
SUB_KEY_EXPIRES = 9
SUB_ISSUER = 16
SUB_REASON = 29
SUB_ISSUER_FPR = 33

REVOCATION_REASONS = {0: "no reason given", 1: "key superseded", 2: "key compromised", 3: "key retired",
                      32: "user ID no longer valid"}

# Packets that may sit in a keyring without being part of a key: dropped from what is written.
_IGNORED = (TRUST, MARKER, PADDING)

Packet = collections.namedtuple("Packet", "tag body raw offset")
Signature = collections.namedtuple("Signature", "version type created key_expires issuers reason")


class OpenPGPError(Exception):
    """The data is not a usable public key; the message says what is wrong (the caller names the source)."""


def utc(timestamp):
    """A Unix time as the date apt and gpg users read, in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


# ASCII armor (RFC 9580 6.2) ----------------------------------------------------------------------------------

_BEGIN = re.compile(br"^-----BEGIN PGP ([^\r\n-]*)-----[ \t]*\r?$", re.M)
_HEADER = re.compile(r"^[\x21-\x39\x3b-\x7e]+: ")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def crc24(data):
    """The CRC-24 of the armor's checksum line (RFC 4880 6.1)."""
    crc = 0xB704CE
    for octet in bytearray(data):
        crc ^= octet << 16
        for dummy in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _armored_block(lines, first_line):
    """The packets of one armored block, given its lines between BEGIN and END."""
    index = 0
    if lines and _HEADER.match(lines[0]):
        while index < len(lines) and lines[index].strip():
            if not _HEADER.match(lines[index]):
                raise OpenPGPError("line %d of the armor is neither an armor header ('Key: value') nor the blank line "
                                   "that ends them" % (first_line + index))
            index += 1
    body, checksum = [], None
    for number, line in enumerate(lines[index:], first_line + index):
        line = line.strip()
        if not line:
            continue
        if checksum is not None:
            raise OpenPGPError("line %d of the armor comes after its checksum line" % number)
        if line.startswith("=") and len(line) == 5:
            checksum = (number, line[1:])
            continue
        if not _BASE64.match(line):
            raise OpenPGPError("line %d of the armor is not base64: %r" % (number, line[:40]))
        body.append(line)
    joined = "".join(body)
    if not _BASE64.match(joined) or len(joined) % 4:
        raise OpenPGPError("the armor is not valid base64 (padding in the middle, or a length that is not a multiple "
                           "of 4): the file is damaged or cut short")
    try:
        data = base64.b64decode(joined.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenPGPError("the armor is not valid base64 (%s); the file is damaged or cut short" % exc)
    if not data:
        raise OpenPGPError("the armored block at line %d is empty" % (first_line - 1))
    if checksum is not None:
        try:
            expected = base64.b64decode(checksum[1].encode("ascii"), validate=True)
        except (binascii.Error, ValueError):
            raise OpenPGPError("the armor's checksum line %d is not base64" % checksum[0])
        if len(expected) != 3 or struct.unpack(">I", b"\0" + expected)[0] != crc24(data):
            raise OpenPGPError("the armor's checksum (line %d) does not match its data: the file is damaged"
                               % checksum[0])
    return data


def dearmor(data):
    """Binary packets of a key file: binary input comes back as it is, armored PUBLIC KEY BLOCKs are decoded.

    Several armored blocks (keys concatenated with `cat`) give their packets one after the other. Text outside
    the blocks is ignored, as gpg ignores it.
    """
    if not data:
        raise OpenPGPError("the file is empty")
    if bytearray(data[:1])[0] & 0x80:
        return data
    begins = list(_BEGIN.finditer(data))
    if not begins:
        raise OpenPGPError("it is neither a binary OpenPGP key (its first byte, 0x%02x, is not a packet header) nor "
                           "an ASCII-armored one (no '-----BEGIN PGP PUBLIC KEY BLOCK-----' line)"
                           % bytearray(data[:1])[0])
    result = []
    for begin in begins:
        kind = begin.group(1).decode("ascii", "replace")
        first_line = data.count(b"\n", 0, begin.start()) + 2
        if kind != "PUBLIC KEY BLOCK":
            what = " (a secret key)" if "PRIVATE" in kind or "SECRET" in kind else ""
            raise OpenPGPError("line %d starts an armored %s%s, not a PUBLIC KEY BLOCK: a repository key file must "
                               "hold public keys only" % (first_line - 1, kind, what))
        end = data.find(b"-----END PGP PUBLIC KEY BLOCK-----", begin.end())
        nested = _BEGIN.search(data, begin.end())
        if end < 0 or (nested is not None and nested.start() < end):
            raise OpenPGPError("the armored block at line %d has no '-----END PGP PUBLIC KEY BLOCK-----' line: the "
                               "file is cut short" % (first_line - 1))
        raw = data[begin.end():end]
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            line = first_line + raw.count(b"\n", 0, exc.start) - 1
            raise OpenPGPError("line %d of the armor holds a byte that is not ASCII (0x%02x): the file is damaged"
                               % (line, bytearray(raw[exc.start:exc.start + 1])[0]))
        lines = text.split("\n")[1:]  # the rest of the BEGIN line
        result.append(_armored_block(lines, first_line))
    return b"".join(result)


# Packets (RFC 9580 4.2) --------------------------------------------------------------------------------------

def _take(data, pos, size, what):
    if pos + size > len(data):
        raise OpenPGPError("the key is truncated: %s at byte %d needs %d bytes, %d are left"
                           % (what, pos, size, max(len(data) - pos, 0)))
    return data[pos:pos + size]


def packets(data):
    """[Packet(tag, body, raw, offset)] of binary OpenPGP data; raw is the packet with its header, as read."""
    data = bytes(data)
    found = []
    pos = 0
    while pos < len(data):
        start = pos
        first = bytearray(data[pos:pos + 1])[0]
        if not first & 0x80:
            raise OpenPGPError("byte %d (0x%02x) is not an OpenPGP packet header" % (pos, first))
        if first & 0x40:  # new format
            tag = first & 0x3F
            octet = bytearray(_take(data, pos + 1, 1, "the packet header"))[0]
            if octet < 192:
                length, pos = octet, pos + 2
            elif octet < 224:
                second = bytearray(_take(data, pos + 2, 1, "the packet header"))[0]
                length, pos = ((octet - 192) << 8) + second + 192, pos + 3
            elif octet == 255:
                length, pos = struct.unpack(">I", _take(data, pos + 2, 4, "the packet header"))[0], pos + 6
            else:
                raise OpenPGPError("the packet at byte %d has a partial body length, which does not occur in keys"
                                   % start)
        else:
            tag = (first >> 2) & 0x0F
            kind = first & 0x03
            if kind == 3:
                raise OpenPGPError("the packet at byte %d has an indeterminate length, which does not occur in keys"
                                   % start)
            size = (1, 2, 4)[kind]
            length = int.from_bytes(_take(data, pos + 1, size, "the packet header"), "big")
            pos += 1 + size
        if tag == 0:
            raise OpenPGPError("the packet at byte %d has the reserved tag 0: this is not OpenPGP data" % start)
        body = _take(data, pos, length, "the %s packet" % PACKET_NAMES.get(tag, "tag %d" % tag))
        pos += length
        found.append(Packet(tag, body, data[start:pos], start))
    return found


# Keys and signatures -----------------------------------------------------------------------------------------

def fingerprint(body):
    """Fingerprint of a public key packet body, upper-case hex."""
    version = bytearray(body[:1])[0] if body else 0
    if version == 4:
        digest = hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body)
    elif version in (5, 6):
        digest = hashlib.sha256((b"\x9a" if version == 5 else b"\x9b") + struct.pack(">I", len(body)) + body)
    else:
        raise OpenPGPError("OpenPGP key version %d is not supported" % version)
    return digest.hexdigest().upper()


def _key(packet):
    """(fingerprint or None for versions apt cannot use, creation time) of a key packet."""
    body = packet.body
    if len(body) < 6:
        raise OpenPGPError("the %s packet at byte %d is too short to be a key" % (PACKET_NAMES[packet.tag], packet.offset))
    created = struct.unpack(">I", body[1:5])[0]
    version = bytearray(body[:1])[0]
    return (fingerprint(body) if version in (4, 5, 6) else None), created


def key_id(fpr):
    """The 64-bit key ID of a fingerprint: the last 16 digits of a v4 one, the first 16 of a v5/v6 one."""
    return fpr[-16:] if len(fpr) == 40 else fpr[:16]


def _subpackets(data, where):
    """[(type, body)] of a signature's subpacket area."""
    found = []
    pos = 0
    while pos < len(data):
        octet = bytearray(data[pos:pos + 1])[0]
        if octet < 192:
            length, pos = octet, pos + 1
        elif octet < 255:
            second = bytearray(_take(data, pos + 1, 1, "a subpacket length in " + where))[0]
            length, pos = ((octet - 192) << 8) + second + 192, pos + 2
        else:
            length, pos = struct.unpack(">I", _take(data, pos + 1, 4, "a subpacket length in " + where))[0], pos + 5
        if length == 0:
            raise OpenPGPError("%s has a subpacket of length 0" % where)
        body = _take(data, pos, length, "a subpacket in " + where)
        found.append((bytearray(body[:1])[0] & 0x7F, body[1:]))
        pos += length
    return found


def signature(packet):
    """Signature(version, type, created, key_expires, issuers, reason) of a signature packet; None when its version
    is one this parser does not know (gpg ignores those too)."""
    body = packet.body
    where = "the signature packet at byte %d" % packet.offset
    version = bytearray(_take(body, 0, 1, where))[0]
    if version in (2, 3):
        head = bytearray(_take(body, 0, 15, where))
        return Signature(version, head[2], struct.unpack(">I", bytes(head[3:7]))[0], None,
                         frozenset([binascii.hexlify(bytes(head[7:15])).decode("ascii").upper()]), None)
    if version not in (4, 5, 6):
        return None
    head = bytearray(_take(body, 0, 4, where))
    size = 4 if version in (5, 6) else 2
    pos = 4
    hashed_length = int.from_bytes(_take(body, pos, size, where), "big")
    hashed = _take(body, pos + size, hashed_length, where)
    pos += size + hashed_length
    unhashed_length = int.from_bytes(_take(body, pos, size, where), "big")
    unhashed = _take(body, pos + size, unhashed_length, where)
    created = key_expires = reason = None
    issuers = set()
    for kind, value in _subpackets(hashed, where + " (hashed area)"):
        if kind == SUB_CREATED and len(value) == 4:
            created = struct.unpack(">I", value)[0]
        elif kind == SUB_KEY_EXPIRES and len(value) == 4:
            key_expires = struct.unpack(">I", value)[0]
        elif kind == SUB_REASON and value:
            code = bytearray(value[:1])[0]
            text = value[1:].decode("utf-8", "replace").strip()
            reason = REVOCATION_REASONS.get(code, "reason %d" % code) + (": %s" % text if text else "")
        elif kind in (SUB_ISSUER, SUB_ISSUER_FPR):
            issuers.add(binascii.hexlify(value if kind == SUB_ISSUER else value[1:]).decode("ascii").upper())
    for kind, value in _subpackets(unhashed, where + " (unhashed area)"):
        if kind in (SUB_ISSUER, SUB_ISSUER_FPR):  # not covered by the signature, but only ever names its maker
            issuers.add(binascii.hexlify(value if kind == SUB_ISSUER else value[1:]).decode("ascii").upper())
    return Signature(version, head[1], created or 0, key_expires, frozenset(issuers), reason)


def _component(kind, packet):
    return {"kind": kind, "packet": packet, "signatures": []}


def certificates(data):
    """The transferable public keys of a key file: [[primary component, user ID/attribute/subkey components...]].

    A component is {"kind": "primary"|"user ID"|"user attribute"|"subkey", "packet", "signatures"}. Trust,
    marker and padding packets are left out; any other packet that is not part of a public key is refused.
    """
    found = []
    current = None
    for packet in packets(dearmor(data)):
        name = PACKET_NAMES.get(packet.tag, "tag %d" % packet.tag)
        if packet.tag in (SECRET_KEY, SECRET_SUBKEY):
            raise OpenPGPError("it holds a %s (packet at byte %d): a repository key file must hold public keys only; "
                               "whoever published it has exposed their secret key" % (name, packet.offset))
        if packet.tag in _IGNORED:
            continue
        if packet.tag not in (PUBLIC_KEY, PUBLIC_SUBKEY, SIGNATURE, USER_ID, USER_ATTRIBUTE):
            raise OpenPGPError("it holds a %s packet (tag %d, at byte %d), which is not part of a public key: this is "
                               "not a key file" % (name, packet.tag, packet.offset))
        if packet.tag == PUBLIC_KEY:
            current = [_component("primary", packet)]
            found.append(current)
        elif current is None:
            raise OpenPGPError("its %s packet at byte %d comes before any public key packet" % (name, packet.offset))
        elif packet.tag == SIGNATURE:
            current[-1]["signatures"].append(packet)
        else:
            kind = {USER_ID: "user ID", USER_ATTRIBUTE: "user attribute", PUBLIC_SUBKEY: "subkey"}[packet.tag]
            current.append(_component(kind, packet))
    if not found:
        raise OpenPGPError("it holds no public key")
    return found


def _user_ids(certificate):
    return [part["packet"].body.decode("utf-8", "replace") for part in certificate if part["kind"] == "user ID"]


def _signatures(component):
    return [sig for sig in (signature(packet) for packet in component["signatures"]) if sig is not None]


def fingerprints(data):
    """{'primary': [...], 'subkeys': [...]} of every key in a keyring (armored or binary), unjudged."""
    result = {"primary": [], "subkeys": []}
    for certificate in certificates(data):
        for part in certificate:
            if part["kind"] in ("primary", "subkey"):
                fpr = _key(part["packet"])[0]
                result["primary" if part["kind"] == "primary" else "subkeys"].append(fpr or "(a version %d key)" % (
                    bytearray(part["packet"].body[:1])[0]))
    return result


def describe(data):
    """Lines naming the keys in a keyring, for a diff: 'primary FPR <user ID>' and 'subkey FPR'."""
    lines = []
    for certificate in certificates(data):
        users = _user_ids(certificate)
        for part in certificate:
            if part["kind"] == "primary":
                lines.append("primary %s%s" % (_key(part["packet"])[0], " (%s)" % users[0] if users else ""))
            elif part["kind"] == "subkey":
                lines.append("  subkey %s" % _key(part["packet"])[0])
    return lines


def _by(sig, fpr):
    return fpr in sig.issuers or key_id(fpr) in sig.issuers


def _newest(sigs):
    """The newest of signatures, by their creation time; of equal times, the one read last."""
    return max(enumerate(sigs), key=lambda item: (item[1].created, item[0]))[1]


def _judge_subkey(part, primary, now):
    """None when the subkey stays, else why it is dropped."""
    fpr, created = _key(part["packet"])
    if fpr is None:
        return "a version %d key, which apt and dnf cannot use" % bytearray(part["packet"].body[:1])[0]
    sigs = _signatures(part)
    revocations = [sig for sig in sigs if sig.type == SUBKEY_REVOCATION]
    if revocations:
        return "revoked (%s)" % (revocations[0].reason or "no reason given")
    bindings = [sig for sig in sigs if sig.type == SUBKEY_BINDING and _by(sig, primary)]
    if not bindings:
        return "no binding signature by the primary key"
    newest = _newest(bindings)
    if newest.key_expires and now >= created + newest.key_expires:
        return "expired on %s" % utc(created + newest.key_expires)
    return None


def select_key(data, wanted, now=None):
    """Keep only the transferable public key whose primary fingerprint is ``wanted`` (normalized upper-case hex).

    Returns {"keyring": the binary keyring to write, "fingerprint", "user_ids", "subkeys" (kept), "created",
    "expires" (Unix time or None), "dropped": [{"fingerprint", "kind", "reason"}]}. Raises OpenPGPError when the
    data is not a clean set of public keys, when no primary key has that fingerprint (a subkey's is not enough),
    or when the key is revoked, expired or carries no self-signature.
    """
    now = time.time() if now is None else now
    wanted = normalize(wanted)
    found = certificates(data)
    matching, others, subkey_of = [], [], None
    for certificate in found:
        fpr = _key(certificate[0]["packet"])[0]
        if fpr == wanted:
            matching.append(certificate)
            continue
        others.append(fpr or "(a version %d key)" % bytearray(certificate[0]["packet"].body[:1])[0])
        for part in certificate[1:]:
            if part["kind"] == "subkey" and _key(part["packet"])[0] == wanted:
                subkey_of = fpr
    if subkey_of and not matching:
        raise OpenPGPError("%s is a subkey of the primary key %s, and only a primary key's fingerprint is accepted "
                           "(apt and dnf trust a whole key, not one subkey): name %s if that key is the vendor's"
                           % (wanted, subkey_of, subkey_of))
    if not matching:
        raise OpenPGPError("it holds the key%s %s, not %s" % ("s" if len(others) > 1 else "", ", ".join(others), wanted))
    if len(matching) > 1:
        raise OpenPGPError("it holds the key %s %d times: a key file holds each key once" % (wanted, len(matching)))
    certificate = matching[0]
    primary = certificate[0]
    created = _key(primary["packet"])[1]
    all_sigs = [(part["kind"], sig) for part in certificate for sig in _signatures(part)]
    for kind, sig in all_sigs:
        if sig.type == KEY_REVOCATION:
            raise OpenPGPError("the key %s is revoked (%s), by a signature made %s" % (
                wanted, sig.reason or "no reason given", utc(sig.created) if sig.created else "at an unknown time"))
    direct = [sig for kind, sig in all_sigs if kind == "primary" and sig.type == DIRECT_KEY and _by(sig, wanted)]
    certified = [sig for kind, sig in all_sigs if kind in ("user ID", "user attribute") and sig.type in CERTIFICATIONS
                 and _by(sig, wanted)]
    if not direct and not certified:
        raise OpenPGPError("the key %s carries no self-signature (no user ID or direct-key signature made by it), "
                           "so neither gpg nor rpm would use it" % wanted)
    # As gpg reads it: the newest direct-key signature's expiry when it has one, else the newest user ID
    # self-signature's (none there: the key does not expire).
    newest = _newest(direct) if direct else None
    if newest is None or not newest.key_expires:
        newest = _newest(certified) if certified else newest
    expires = created + newest.key_expires if newest.key_expires else None
    if expires is not None and now >= expires:
        raise OpenPGPError("the key %s expired on %s (its newest self-signature, of %s, says so): get the vendor's "
                           "renewed key" % (wanted, utc(expires), utc(newest.created)))
    kept, subkeys = [], []
    dropped = [{"fingerprint": fpr, "kind": "primary", "reason": "another key than the one named"} for fpr in others]
    for part in certificate:
        if part["kind"] == "subkey":
            why = _judge_subkey(part, wanted, now)
            if why:
                dropped.append({"fingerprint": _key(part["packet"])[0], "kind": "subkey", "reason": why})
                continue
            subkeys.append(_key(part["packet"])[0])
        kept.append(part["packet"].raw)
        kept.extend(packet.raw for packet in part["signatures"])
    return {"keyring": b"".join(kept), "fingerprint": wanted, "user_ids": _user_ids(certificate), "subkeys": subkeys,
            "created": created, "expires": expires, "dropped": dropped}


def normalize(value):
    return re.sub(r"[^0-9A-Fa-f]", "", value or "").upper()
