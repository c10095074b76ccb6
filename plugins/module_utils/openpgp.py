# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keys: armor, packets, fingerprints and self-signatures (RFC 4880, RFC 9580), standard library only.

``select_key`` is what a repository key goes through before apt (``signed-by``) or dnf (``gpgkey``) sees it: out
of a downloaded key file or bundle it keeps only the transferable public key whose primary fingerprint the
operator named (its primary key packet, its user IDs and user attributes with their self-signatures, its subkeys
with their binding signatures) and drops every other key, as a keyring given to gpgv must hold nothing else: gpgv
trusts every key in it. Anything that is not part of a transferable public key (a secret key, literal data,
an encrypted message...) makes the whole bundle refused.

The signatures it relies on are verified, with the named primary key (RFC 4880 section 5.2.4 for what is
hashed): RSA (PKCS#1 v1.5), DSA, ECDSA on NIST P-256, P-384 and P-521, EdDSA on Ed25519 (legacy algorithm 22
and RFC 9580's algorithm 27, ``ed25519.py``), over SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512, in version 4
signatures of version 4 keys. Only a signature that verifies counts; every other one is dropped from what is
written and reported:

- a key revocation that verifies makes the key refused; the expiry is read from the newest direct-key signature
  or user ID self-signature that verifies (as gpg reads it), and an expired key is refused;
- a primary key with no self-signature (user ID certification or direct-key signature) that verifies is
  refused, the message naming the algorithm when it is one that cannot be verified here;
- a subkey is kept only with a binding signature by the primary that verifies, and dropped when a subkey
  revocation that verifies revokes it or its newest binding says it has expired;
- a user ID (or user attribute) is kept only with a self-signature that verifies, and dropped when a
  certification revocation that verifies is newer than its newest self-signature;
- certifications by other keys (third-party signatures) are dropped: apt and dnf do not use them, and only
  the vendor key's own material is written.

So a signature packet that anyone can append (a forged revocation, expiry, subkey binding or user ID) changes
nothing: it is dropped, and what is written is what gpgv and rpm would accept from the vendor's key alone. A
key revocation by a designated revoker (another key) cannot be verified with this key and is dropped too, as
gpgv, given only this keyring, would ignore it.
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

from ansible_collections.dlops.gpu.plugins.module_utils import ed25519

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
CERTIFICATION_REVOCATION = 0x30

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
# version, type, created, key_expires, issuers, reason as read; pubalgo, hashalgo; hashed_end: the length of the
# signed part of the body (None for versions that cannot be verified); material: the left 16 bits of the hash and
# the signature values.
Signature = collections.namedtuple("Signature", "version type created key_expires issuers reason pubalgo hashalgo "
                                   "hashed_end material")


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
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]  # a UTF-8 byte order mark, as some editors write before armored text: skipped
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
        tail = bytearray(body[15:17])
        return Signature(version, head[2], struct.unpack(">I", bytes(head[3:7]))[0], None,
                         frozenset([binascii.hexlify(bytes(head[7:15])).decode("ascii").upper()]), None,
                         tail[0] if tail else None, tail[1] if len(tail) > 1 else None, None, b"")
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
    hashed_end = 4 + size + hashed_length
    material = body[pos + size + unhashed_length:]
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
    return Signature(version, head[1], created or 0, key_expires, frozenset(issuers), reason, head[2], head[3],
                     hashed_end if version == 4 else None, material)


# Verifying signatures (RFC 4880 5.2.2-5.2.4, RFC 9580 5.2.4; RFC 8017 9.2; FIPS 186-4) -------------------------

ALGORITHMS = {1: "RSA", 2: "RSA (encrypt-only)", 3: "RSA (sign-only)", 16: "ElGamal", 17: "DSA", 18: "ECDH",
              19: "ECDSA", 20: "ElGamal (sign and encrypt)", 22: "EdDSA", 25: "X25519", 26: "X448", 27: "Ed25519",
              28: "Ed448"}
_RSA = (1, 3)  # 2 is encrypt-only: it does not sign

# hash algorithm id: (hashlib name, name, the DER DigestInfo prefix PKCS#1 v1.5 puts before the digest)
HASHES = {
    2: ("sha1", "SHA-1", "3021300906052b0e03021a05000414"),
    8: ("sha256", "SHA-256", "3031300d060960864801650304020105000420"),
    9: ("sha384", "SHA-384", "3041300d060960864801650304020205000430"),
    10: ("sha512", "SHA-512", "3051300d060960864801650304020305000440"),
    11: ("sha224", "SHA-224", "302d300d06096086480165030402040500041c"),
}
HASH_NAMES = {1: "MD5", 3: "RIPEMD-160", 12: "SHA3-256", 14: "SHA3-512"}

_ED25519_OID = bytes(bytearray([0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]))  # 1.3.6.1.4.1.11591.15.1


def _curve(p, a, b, gx, gy, n, name):
    return {"p": p, "a": a % p, "b": b, "g": (gx, gy), "n": n, "name": name}


# Short Weierstrass curves y^2 = x^3 + ax + b (SEC 2 / FIPS 186-4), by their OID's DER body.
CURVES = {
    binascii.unhexlify("2a8648ce3d030107"): _curve(
        2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1, -3,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
        0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551, "NIST P-256"),
    binascii.unhexlify("2b81040022"): _curve(
        2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1, -3,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        0xAA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7,
        0x3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
        "NIST P-384"),
    binascii.unhexlify("2b81040023"): _curve(
        2 ** 521 - 1, -3,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        0x00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66,
        0x011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650,
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
        "NIST P-521"),
}


class _Unverifiable(Exception):
    """A signature that cannot be checked here (algorithm, version): the message names what."""


class _Malformed(Exception):
    """Key or signature values that are not what their algorithm needs: such a signature does not verify."""


def _mpis(data, count):
    """The first ``count`` multiprecision integers of data, and the rest."""
    values = []
    pos = 0
    for dummy in range(count):
        if pos + 2 > len(data):
            raise _Malformed()
        size = (struct.unpack(">H", data[pos:pos + 2])[0] + 7) // 8
        if pos + 2 + size > len(data):
            raise _Malformed()
        values.append(int.from_bytes(data[pos + 2:pos + 2 + size], "big"))
        pos += 2 + size
    return values, data[pos:]


def _mpi_octets(data, pos):
    """The octets of the multiprecision integer at pos (as stored, without leading zeros), and the next pos."""
    if pos + 2 > len(data):
        raise _Malformed()
    size = (struct.unpack(">H", data[pos:pos + 2])[0] + 7) // 8
    if pos + 2 + size > len(data):
        raise _Malformed()
    return data[pos + 2:pos + 2 + size], pos + 2 + size


def _oid(material):
    """(curve OID body, the rest) of an ECC key's material."""
    if not material or len(material) < 1 + bytearray(material[:1])[0]:
        raise _Malformed()
    size = bytearray(material[:1])[0]
    return material[1:1 + size], material[1 + size:]


def _on_curve(curve, point):
    x, y = point
    p = curve["p"]
    return 0 <= x < p and 0 <= y < p and (y * y - x * x * x - curve["a"] * x - curve["b"]) % p == 0


def _jacobian_double(curve, point):
    x, y, z = point
    p = curve["p"]
    if y == 0 or z == 0:
        return (0, 1, 0)
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + curve["a"] * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    return (x3, (m * (s - x3) - 8 * yy * yy) % p, 2 * y * z % p)


def _jacobian_add(curve, one, two):
    if one[2] == 0:
        return two
    if two[2] == 0:
        return one
    p = curve["p"]
    x1, y1, z1 = one
    x2, y2, z2 = two
    z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
    u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
    s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
    if u1 == u2:
        return _jacobian_double(curve, one) if s1 == s2 else (0, 1, 0)
    h, r = (u2 - u1) % p, (s2 - s1) % p
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    return (x3, (r * (v - x3) - s1 * hhh) % p, h * z1 * z2 % p)


def _ecdsa(curve, point, digest, r, s):
    """Whether (r, s) is an ECDSA signature of digest by the public point (SEC 1 section 4.1.4)."""
    n = curve["n"]
    if not (0 < r < n and 0 < s < n) or not _on_curve(curve, point):
        return False
    e = int.from_bytes(digest, "big")
    excess = 8 * len(digest) - n.bit_length()
    if excess > 0:
        e >>= excess  # the leftmost bits of the digest, as many as n has
    w = pow(s, n - 2, n)
    one, two = e * w % n, r * w % n
    first, second = curve["g"] + (1,), point + (1,)
    both = _jacobian_add(curve, first, second)
    result = (0, 1, 0)
    for bit in range(max(one.bit_length(), two.bit_length()) - 1, -1, -1):
        result = _jacobian_double(curve, result)
        pick = ((one >> bit) & 1, (two >> bit) & 1)
        if pick != (0, 0):
            result = _jacobian_add(curve, result, both if pick == (1, 1) else first if pick[0] else second)
    if result[2] == 0:
        return False
    p = curve["p"]
    x = result[0] * pow(result[2] * result[2] % p, p - 2, p) % p
    return x % n == r


def _check_values(algorithm, material, sig_values, digest, hash_id):
    """Whether the signature values sig_values (after the left 16 bits) verify digest under the key material."""
    if algorithm in _RSA:
        (n, e), dummy = _mpis(material, 2)
        (value,), dummy = _mpis(sig_values, 1)
        if not 0 < value < n or n < 2 ** 511:
            return False
        size = (n.bit_length() + 7) // 8
        digest_info = binascii.unhexlify(HASHES[hash_id][2]) + digest
        if size < len(digest_info) + 11:
            return False
        encoded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info  # EMSA-PKCS1-v1_5
        return pow(value, e, n).to_bytes(size, "big") == encoded
    if algorithm == 17:
        (p, q, g, y), dummy = _mpis(material, 4)
        (r, s), dummy = _mpis(sig_values, 2)
        if not (0 < r < q and 0 < s < q) or q < 2 or p < 2:
            return False
        z = int.from_bytes(digest, "big")
        excess = 8 * len(digest) - q.bit_length()
        if excess > 0:
            z >>= excess
        w = pow(s, q - 2, q)
        return pow(g, z * w % q, p) * pow(y, r * w % q, p) % p % q == r
    if algorithm == 19:
        oid, rest = _oid(material)
        curve = CURVES.get(bytes(oid))
        if curve is None:
            raise _Unverifiable("ECDSA on the curve %s" % _oid_text(oid))
        encoded, dummy = _mpi_octets(rest, 0)
        size = (curve["p"].bit_length() + 7) // 8
        if len(encoded) != 1 + 2 * size or bytearray(encoded[:1])[0] != 0x04:
            return False
        point = (int.from_bytes(encoded[1:1 + size], "big"), int.from_bytes(encoded[1 + size:], "big"))
        (r, s), dummy = _mpis(sig_values, 2)
        return _ecdsa(curve, point, digest, r, s)
    if algorithm == 22:
        oid, rest = _oid(material)
        if bytes(oid) != _ED25519_OID:
            raise _Unverifiable("EdDSA on the curve %s" % _oid_text(oid))
        encoded, dummy = _mpi_octets(rest, 0)
        if len(encoded) != 33 or bytearray(encoded[:1])[0] != 0x40:
            return False
        r, pos = _mpi_octets(sig_values, 0)
        s, pos = _mpi_octets(sig_values, pos)
        if len(r) > 32 or len(s) > 32:
            return False
        # the values are the native octet strings, their leading zero octets left out by the MPI encoding
        return ed25519.verify(encoded[1:], digest, r.rjust(32, b"\0") + s.rjust(32, b"\0"))
    if algorithm == 27:
        return len(material) >= 32 and len(sig_values) >= 64 and ed25519.verify(material[:32], digest, sig_values[:64])
    raise _Unverifiable(ALGORITHMS.get(algorithm, "public-key algorithm %d" % algorithm))


def _oid_text(oid):
    """The dotted form of a DER OID body, for messages."""
    octets = bytearray(oid)
    if not octets:
        return "(empty OID)"
    parts = [str(octets[0] // 40), str(octets[0] % 40)]
    value = 0
    for octet in octets[1:]:
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            parts.append(str(value))
            value = 0
    return ".".join(parts)


def hashed_key(body):
    """How a version 4 key packet body enters a signature's hash (RFC 4880 5.2.4)."""
    return b"\x99" + struct.pack(">H", len(body)) + body


def hashed_user(packet):
    """How a user ID (0xB4) or user attribute (0xD1) enters a version 4 certification's hash."""
    return (b"\xb4" if packet.tag == USER_ID else b"\xd1") + struct.pack(">I", len(packet.body)) + packet.body


def verify(sig, body, key_body, prefix):
    """Whether the signature (parsed ``sig`` of the packet body ``body``) is one the key ``key_body`` made over
    ``prefix`` (the hashed key, user ID or subkey material before the signature's own hashed part).

    True or False; raises _Unverifiable (its message names the algorithm, hash or version) when it cannot be
    checked here.
    """
    if bytearray(key_body[:1])[0] != 4:
        raise _Unverifiable("a version %d key" % bytearray(key_body[:1])[0])
    if sig.hashed_end is None:
        raise _Unverifiable("a version %d signature" % sig.version)
    algorithm = bytearray(key_body[5:6])[0] if len(key_body) > 5 else None
    if not (sig.pubalgo == algorithm or (sig.pubalgo in _RSA and algorithm in _RSA)):
        return False  # made with another algorithm: not by this key
    if sig.hashalgo not in HASHES:
        raise _Unverifiable("the hash algorithm %s" % HASH_NAMES.get(sig.hashalgo, sig.hashalgo))
    if algorithm not in _RSA + (17, 19, 22, 27):
        raise _Unverifiable(ALGORITHMS.get(algorithm, "public-key algorithm %d" % algorithm))
    signed = body[:sig.hashed_end]
    digest = hashlib.new(HASHES[sig.hashalgo][0], prefix + signed + b"\x04\xff" + struct.pack(">I", len(signed))).digest()
    if len(sig.material) < 2 or sig.material[:2] != digest[:2]:  # the left 16 bits: a quick reject
        return False
    try:
        return _check_values(algorithm, key_body[6:], sig.material[2:], digest, sig.hashalgo)
    except _Malformed:
        return False


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


_TYPE_NAMES = {0x10: "certification", 0x11: "certification", 0x12: "certification", 0x13: "certification",
               DIRECT_KEY: "direct-key signature", KEY_REVOCATION: "key revocation",
               SUBKEY_BINDING: "binding signature", SUBKEY_REVOCATION: "subkey revocation",
               CERTIFICATION_REVOCATION: "certification revocation"}

# The signature types each component may carry, which are verified over it.
_BELONGS = {"primary": (DIRECT_KEY, KEY_REVOCATION), "user ID": CERTIFICATIONS + (CERTIFICATION_REVOCATION,),
            "user attribute": CERTIFICATIONS + (CERTIFICATION_REVOCATION,), "subkey": (SUBKEY_BINDING, SUBKEY_REVOCATION)}


def _label(part):
    """How a component is named in messages."""
    if part["kind"] == "user ID":
        return "user ID %r" % part["packet"].body.decode("utf-8", "replace")
    if part["kind"] == "user attribute":
        return "a user attribute (photo)"
    if part["kind"] == "subkey":
        return "subkey %s" % (_key(part["packet"])[0] or "(a version %d key)" % bytearray(part["packet"].body[:1])[0])
    return "the primary key"


class _Checked:
    """The signatures of a certificate, each verified once with the primary key: .good (per component, in order,
    as (packet, Signature)) and .bad ([{"part", "packet", "sig", "why"}]), .unverifiable (algorithms named)."""

    def __init__(self, certificate, wanted):
        primary = certificate[0]["packet"]
        self.key_prefix = hashed_key(primary.body)
        self.good = {}
        self.bad = []
        self.unverifiable = []
        for index, part in enumerate(certificate):
            self.good[index] = []
            for packet in part["signatures"]:
                sig = signature(packet)
                why = self._why_not(part, packet, sig, primary, wanted)
                if why is None:
                    self.good[index].append((packet, sig))
                else:
                    self.bad.append({"part": part, "packet": packet, "sig": sig, "why": why})

    def _prefix(self, part, sig_type):
        if sig_type == KEY_REVOCATION:  # over the primary key wherever it sits
            return self.key_prefix
        if part["kind"] in ("user ID", "user attribute"):
            return self.key_prefix + hashed_user(part["packet"])
        if part["kind"] == "subkey":
            return self.key_prefix + hashed_key(part["packet"].body)
        return self.key_prefix

    def _why_not(self, part, packet, sig, primary, wanted):
        """None when the signature verifies with the primary key, else why it does not count."""
        if sig is None:
            return "a version %d signature, which is not part of OpenPGP" % bytearray(packet.body[:1])[0]
        what = "%s (type 0x%02x)" % (_TYPE_NAMES.get(sig.type, "signature"), sig.type)
        if sig.type not in _BELONGS[part["kind"]] and sig.type != KEY_REVOCATION:
            return "a %s, which does not belong" % what
        issuers = sorted(sig.issuers, key=lambda issuer: (-len(issuer), issuer))
        if issuers and not _by(sig, wanted):
            # dropped whatever it verifies to, so not verified: a key flooded with certifications costs no time
            return "a %s by another key (issuer %s)" % (what, issuers[0])
        try:
            if verify(sig, packet.body, primary.body, self._prefix(part, sig.type)):
                return None
        except _Unverifiable as exc:
            self.unverifiable.append(str(exc))
            return "a %s that cannot be verified here: %s" % (what, exc)
        return "a %s that does not verify (forged or damaged)" % what


def _judge_subkey(part, good, now):
    """None when the subkey stays, else why it is dropped."""
    fpr, created = _key(part["packet"])
    if fpr is None:
        return "a version %d key, which apt and dnf cannot use" % bytearray(part["packet"].body[:1])[0]
    sigs = [sig for packet, sig in good]
    revocations = [sig for sig in sigs if sig.type == SUBKEY_REVOCATION]
    if revocations:
        return "revoked (%s)" % (revocations[0].reason or "no reason given")
    bindings = [sig for sig in sigs if sig.type == SUBKEY_BINDING]
    if not bindings:
        return ("binding signature does not verify" if part["signatures"] else
                "no binding signature by the primary key")
    newest = _newest(bindings)
    if newest.key_expires and now >= created + newest.key_expires:
        return "expired on %s" % utc(created + newest.key_expires)
    return None


def _judge_user(part, good):
    """None when the user ID (or attribute) stays, else why it is dropped."""
    certified = [sig for packet, sig in good if sig.type in CERTIFICATIONS]
    if not certified:
        return ("its self-signature does not verify" if part["signatures"] else "it carries no self-signature")
    revoked = [sig for packet, sig in good if sig.type == CERTIFICATION_REVOCATION]
    if revoked and _newest(revoked).created >= _newest(certified).created:
        return "revoked (%s)" % (_newest(revoked).reason or "no reason given")
    return None


def select_key(data, wanted, now=None):
    """Keep only the transferable public key whose primary fingerprint is ``wanted`` (hex; see ``normalize``),
    with only the signatures of its own that verify (see the module's docstring for the rules).

    Returns {"keyring": the binary keyring to write, "fingerprint", "user_ids" (kept), "subkeys" (kept),
    "created", "expires" (Unix time or None), "dropped": [{"fingerprint", "kind", "reason"}]}, where kind is
    "primary" (another key of the bundle), "subkey", "user ID" or "signature" (fingerprint: the named key's).
    Raises OpenPGPError when the data is not a clean set of public keys, when no primary key has that
    fingerprint (a subkey's is not enough), or when the key is revoked, expired or carries no self-signature
    that verifies.
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
    created = _key(certificate[0]["packet"])[1]
    checked = _Checked(certificate, wanted)
    for index in checked.good:
        for packet, sig in checked.good[index]:
            if sig.type == KEY_REVOCATION:
                raise OpenPGPError("the key %s is revoked (%s), by a signature made %s" % (
                    wanted, sig.reason or "no reason given", utc(sig.created) if sig.created else "at an unknown time"))
    dropped = [{"fingerprint": fpr, "kind": "primary", "reason": "another key than the one named"} for fpr in others]
    reasons = {}
    for index, part in enumerate(certificate):
        why = None
        if part["kind"] == "subkey":
            why = _judge_subkey(part, checked.good[index], now)
        elif part["kind"] in ("user ID", "user attribute"):
            why = _judge_user(part, checked.good[index])
        if why:
            reasons[index] = why
            dropped.append({"fingerprint": _key(part["packet"])[0] if part["kind"] == "subkey" else wanted,
                            "kind": "subkey" if part["kind"] == "subkey" else "user ID",
                            "reason": why if part["kind"] == "subkey" else "%s: %s" % (_label(part), why)})
    dropped_parts = set(id(certificate[index]) for index in reasons)
    for item in checked.bad:
        if id(item["part"]) not in dropped_parts:
            dropped.append({"fingerprint": wanted, "kind": "signature",
                            "reason": "%s on %s" % (item["why"], _label(item["part"]))})
    direct = [sig for packet, sig in checked.good[0] if sig.type == DIRECT_KEY]
    certified = [sig for index, part in enumerate(certificate) if part["kind"] in ("user ID", "user attribute")
                 and index not in reasons for packet, sig in checked.good[index] if sig.type in CERTIFICATIONS]
    if not direct and not certified:
        if checked.unverifiable:
            raise OpenPGPError("the signatures of the key %s could not be verified (%s; this module verifies RSA, DSA, "
                               "ECDSA on NIST curves and Ed25519 signatures over SHA-1 and SHA-2), so whether it is "
                               "revoked or expired cannot be told: it is not trusted" % (
                                   wanted, ", ".join(sorted(set(checked.unverifiable)))))
        if any(item["kind"] == "user ID" for item in dropped):
            raise OpenPGPError("the key %s has no user ID left with a valid self-signature and no direct-key signature "
                               "(%s), so neither gpg nor rpm would use it" % (wanted, "; ".join(
                                   item["reason"] for item in dropped if item["kind"] == "user ID")))
        raise OpenPGPError("the key %s carries no self-signature that verifies (no user ID certification or direct-key "
                           "signature made by it), so neither gpg nor rpm would use it" % wanted)
    # As gpg reads it: the newest direct-key signature's expiry when it has one, else the newest user ID
    # self-signature's (none there: the key does not expire).
    newest = _newest(direct) if direct else None
    if newest is None or not newest.key_expires:
        newest = _newest(certified) if certified else newest
    expires = created + newest.key_expires if newest.key_expires else None
    if expires is not None and now >= expires:
        raise OpenPGPError("the key %s expired on %s (its newest self-signature, of %s, says so): get the vendor's "
                           "renewed key" % (wanted, utc(expires), utc(newest.created)))
    kept, subkeys, user_ids = [], [], []
    for index, part in enumerate(certificate):
        if index in reasons:
            continue
        if part["kind"] == "subkey":
            subkeys.append(_key(part["packet"])[0])
        elif part["kind"] == "user ID":
            user_ids.append(part["packet"].body.decode("utf-8", "replace"))
        kept.append(part["packet"].raw)
        kept.extend(packet.raw for packet, sig in checked.good[index])
    return {"keyring": b"".join(kept), "fingerprint": wanted, "user_ids": user_ids, "subkeys": subkeys,
            "created": created, "expires": expires, "dropped": dropped}


def normalize(value):
    """The upper-case hex digits of a fingerprint as operators write it: spaces (any white space) and colons
    between the digits and a leading 0x are allowed; any other character is refused (OpenPGPError)."""
    text = (value or "").strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    for char in text:
        if not (char in "0123456789abcdefABCDEF:" or char.isspace()):
            raise OpenPGPError("fingerprint has a character that is not a hex digit: %r (write it as the vendor publishes "
                               "it: hex digits; spaces, colons and a leading 0x are allowed)" % char)
    return re.sub(r"[\s:]", "", text).upper()
