"""select_key verifies the signatures it relies on: keys of every algorithm gpg makes (RSA, DSA, ECDSA, EdDSA)
verify, and the packets an attacker can append to a vendor's key (a subkey with a forged issuer, forged
self-signatures, expiries and revocations, a forged user ID) and third-party certifications are dropped, checked
with `gpg --show-keys` and `gpgv --keyring` as apt runs it."""

import hashlib
import os
import struct
import time

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import openpgp
# keys is a fixture: imported for pytest, which finds it by name
from .gpg_keys import gpgv, keys  # noqa: F401 pylint: disable=unused-import


def packet(tag, body):
    """A new-format packet (RFC 9580 4.2.1)."""
    size = len(body)
    if size < 192:
        head = bytes([size])
    elif size < 8384:
        head = bytes([((size - 192) >> 8) + 192, (size - 192) & 0xFF])
    else:
        head = b"\xff" + struct.pack(">I", size)
    return bytes([0xC0 | tag]) + head + body


def subpacket(kind, value):
    return bytes([len(value) + 1, kind]) + value


def mpi(value):
    return struct.pack(">H", value.bit_length()) + value.to_bytes((value.bit_length() + 7) // 8, "big")


def hashed_key(body):
    """A key as it enters a signature's hash (RFC 4880 5.2.4), written here again so that the test does not
    lean on the code under test."""
    return b"\x99" + struct.pack(">H", len(body)) + body


def hashed_user(uid):
    return b"\xb4" + struct.pack(">I", len(uid.body)) + uid.body


def forged(key_body, sig_type, hashed, extra=b"", unhashed=b""):
    """A version 4 signature packet of sig_type over the key (and extra: a hashed user ID or subkey) with the
    given hashed subpackets, whose left 16 bits are right (so only the real check can catch it) and whose
    signature values are random: what anyone can make without the secret key."""
    algo = bytearray(key_body)[5]
    signed = bytes([4, sig_type, algo, 8]) + struct.pack(">H", len(hashed)) + hashed
    digest = hashlib.sha256(hashed_key(key_body) + extra + signed + b"\x04\xff" + struct.pack(">I", len(signed))).digest()
    if algo in (1, 3):
        size = (struct.unpack(">H", key_body[6:8])[0] + 7) // 8
        values = mpi(int.from_bytes(os.urandom(size), "big") >> 1)
    else:  # EdDSA, ECDSA, DSA: two values
        values = mpi(int.from_bytes(os.urandom(32), "big")) + mpi(int.from_bytes(os.urandom(32), "big"))
    return packet(2, signed + struct.pack(">H", len(unhashed)) + unhashed + digest[:2] + values)


def issued_by(fpr, now=None):
    """Hashed subpackets: created now, issuer fingerprint fpr."""
    return subpacket(2, struct.pack(">I", int(now or time.time()))) + subpacket(33, b"\x04" + bytes.fromhex(fpr))


def insert(data, after, extra):
    """The packets of data with extra inserted after the packet index after (-1: at the end)."""
    raws = [p.raw for p in openpgp.packets(data)]
    position = len(raws) if after == -1 else after + 1
    return b"".join(raws[:position]) + extra + b"".join(raws[position:])


def primary_body(data):
    return openpgp.packets(data)[0].body


def signed_by(keys, tmp_path, fpr, keyring_bytes, name="Release"):
    """Whether gpgv, given only keyring_bytes, accepts a detached signature made by fpr."""
    keyring = tmp_path / (name + ".keyring")
    keyring.write_bytes(keyring_bytes)
    release = tmp_path / name
    release.write_bytes(b"Origin: test\n")
    return gpgv(keyring, keys["gpg"].sign(fpr, str(release)), str(release), tmp_path / "gpgv")


# Every algorithm gpg makes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rsa", "dsa2048", "nistp256", "nistp384", "nistp521", "wanted"])
def test_keys_of_every_algorithm_verify_and_gpgv_accepts_what_is_written(keys, tmp_path, name):
    gpg = keys["gpg"]
    data = gpg.export(keys[name]) if name != "rsa" else keys["rsa_export"]
    chosen = openpgp.select_key(data, keys[name])
    assert chosen["keyring"] == data and chosen["dropped"] == []
    assert gpg.show(chosen["keyring"])["primary"] == [keys[name]]
    assert signed_by(keys, tmp_path, keys[name], chosen["keyring"])
    # one bit of a self-signature's values changed: it does not verify, and the key has nothing else
    raws = [p.raw for p in openpgp.packets(data)]
    sig = [i for i, p in enumerate(openpgp.packets(data)) if p.tag == openpgp.SIGNATURE][0]
    raws[sig] = raws[sig][:-1] + bytes([raws[sig][-1] ^ 0x01])
    with pytest.raises(openpgp.OpenPGPError, match="no user ID left with a valid self-signature .*its self-signature "
                       "does not verify"):
        openpgp.select_key(b"".join(raws), keys[name])


def test_an_extended_expiry_in_a_real_self_signature_does_not_verify(keys):
    """The RSA key's self-signature says 1 year; rewritten to 68 years (the left 16 bits kept), it verifies no more."""
    data = keys["rsa_export"]
    raws = [p.raw for p in openpgp.packets(data)]
    sig = [i for i, p in enumerate(openpgp.packets(data)) if p.tag == openpgp.SIGNATURE][0]
    assert openpgp.signature(openpgp.packets(data)[sig]).key_expires == 31536000
    raws[sig] = raws[sig].replace(b"\x05\x09" + struct.pack(">I", 31536000), b"\x05\x09" + struct.pack(">I", 2 ** 31), 1)
    assert openpgp.signature(openpgp.packets(b"".join(raws))[sig]).key_expires == 2 ** 31
    with pytest.raises(openpgp.OpenPGPError, match="its self-signature does not verify"):
        openpgp.select_key(b"".join(raws), keys["rsa"])


def test_an_algorithm_that_cannot_be_verified_is_refused_naming_it(keys):
    with pytest.raises(openpgp.OpenPGPError, match="the signatures of the key %s could not be verified \\(the hash "
                       "algorithm RIPEMD-160; this module verifies RSA, DSA" % keys["ripemd"]):
        openpgp.select_key(keys["gpg"].export(keys["ripemd"]), keys["ripemd"])


def test_the_curve_constants_are_right():
    for curve in openpgp.CURVES.values():
        assert openpgp._on_curve(curve, curve["g"]), curve["name"]  # pylint: disable=protected-access
        point, total, scalar = curve["g"] + (1,), (0, 1, 0), curve["n"]
        while scalar:  # [n]G is the point at infinity
            if scalar & 1:
                total = openpgp._jacobian_add(curve, total, point)  # pylint: disable=protected-access
            point, scalar = openpgp._jacobian_double(curve, point), scalar >> 1  # pylint: disable=protected-access
        assert total[2] == 0, curve["name"]


# The review's attacks -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("vendor", ["wanted", "rsa"])
def test_an_attacker_subkey_with_a_forged_issuer_is_dropped(keys, tmp_path, vendor):
    """Someone else's subkey with its real binding signature (by its own primary), plus an unhashed Issuer
    Fingerprint naming the vendor's key, appended after the vendor's key."""
    gpg = keys["gpg"]
    vendor_key = gpg.export(keys[vendor]) if vendor != "rsa" else keys["rsa_export"]
    theirs = openpgp.packets(gpg.export(keys["with_subkeys"]))
    index = [i for i, p in enumerate(theirs) if p.tag == openpgp.PUBLIC_SUBKEY and
             openpgp.fingerprint(p.body) == keys["sub_good"]][0]
    binding = theirs[index + 1].body
    hashed_end = 6 + struct.unpack(">H", binding[4:6])[0]
    unhashed_length = struct.unpack(">H", binding[hashed_end:hashed_end + 2])[0]
    issuer = subpacket(33, b"\x04" + bytes.fromhex(keys[vendor]))
    graft = (binding[:hashed_end] + struct.pack(">H", unhashed_length + len(issuer))
             + binding[hashed_end + 2:hashed_end + 2 + unhashed_length] + issuer + binding[hashed_end + 2 + unhashed_length:])
    data = vendor_key + theirs[index].raw + packet(2, graft)

    chosen = openpgp.select_key(data, keys[vendor])

    assert keys["sub_good"] not in chosen["subkeys"]
    assert {"fingerprint": keys["sub_good"], "kind": "subkey", "reason": "binding signature does not verify"} in chosen["dropped"]
    assert chosen["keyring"] == vendor_key
    assert keys["sub_good"] not in gpg.show(chosen["keyring"])["subkeys"]
    assert not signed_by(keys, tmp_path, keys["sub_good"], chosen["keyring"])
    assert signed_by(keys, tmp_path, keys[vendor], chosen["keyring"], "Release-vendor")


@pytest.mark.parametrize("name", ["expired", "rsa_expired"])
def test_a_forged_self_signature_does_not_revive_an_expired_key(keys, name):
    data = keys["gpg"].export(keys[name])
    body = primary_body(data)
    uid = [p for p in openpgp.packets(data) if p.tag == openpgp.USER_ID][0]
    forgery = forged(body, 0x13, issued_by(keys[name]), hashed_user(uid))  # newer, without expiry
    revived = insert(data, 2, forgery)
    assert openpgp.signature(openpgp.packets(revived)[3]).created > openpgp.signature(openpgp.packets(revived)[2]).created
    with pytest.raises(openpgp.OpenPGPError, match="the key %s expired on 2020-01-02 00:00:00 UTC" % keys[name]):
        openpgp.select_key(revived, keys[name])
    # nor does a forged direct-key signature that moves the expiry 68 years on
    extended = insert(data, 0, forged(body, openpgp.DIRECT_KEY, issued_by(keys[name]) + subpacket(9, struct.pack(">I", 2 ** 31))))
    with pytest.raises(openpgp.OpenPGPError, match="the key %s expired on 2020-01-02 00:00:00 UTC" % keys[name]):
        openpgp.select_key(extended, keys[name])


@pytest.mark.parametrize("name", ["wanted", "rsa"])
def test_a_forged_direct_key_expiry_or_key_revocation_is_ignored_and_reported(keys, name):
    gpg = keys["gpg"]
    data = gpg.export(keys[name]) if name != "rsa" else keys["rsa_export"]
    body = primary_body(data)
    honest = openpgp.select_key(data, keys[name])
    expiry = forged(body, openpgp.DIRECT_KEY, issued_by(keys[name]) + subpacket(9, struct.pack(">I", 1)))
    revocation = forged(body, openpgp.KEY_REVOCATION, issued_by(keys[name]) + subpacket(29, b"\x02compromised"))
    for forgery, what in ((expiry, "direct-key signature (type 0x1f)"), (revocation, "key revocation (type 0x20)")):
        chosen = openpgp.select_key(insert(data, 0, forgery), keys[name])
        assert chosen["keyring"] == data and chosen["expires"] == honest["expires"]
        assert chosen["dropped"] == [{"fingerprint": keys[name], "kind": "signature",
                                      "reason": "a %s that does not verify (forged or damaged) on the primary key" % what}]
    # a forged subkey revocation does not drop the RSA key's subkey either
    if name == "rsa":
        raws = openpgp.packets(data)
        index = [i for i, p in enumerate(raws) if p.tag == openpgp.PUBLIC_SUBKEY][0]
        forgery = forged(body, openpgp.SUBKEY_REVOCATION, issued_by(keys[name]), hashed_key(raws[index].body))
        assert openpgp.select_key(insert(data, index + 1, forgery), keys[name])["subkeys"] == [keys["rsa_sub"]]


@pytest.mark.parametrize("name", ["revoked", "rsa_revoked"])
def test_a_real_revocation_made_by_gpg_refuses_the_key(keys, name):
    with pytest.raises(openpgp.OpenPGPError, match="the key %s is revoked \\(no reason given\\)" % keys[name]):
        openpgp.select_key(keys["gpg"].export(keys[name]), keys[name])


def test_a_third_party_certification_is_dropped(keys, tmp_path):
    gpg = keys["gpg"]
    data = gpg.export(keys["rsa"])
    certifiers = [openpgp.signature(p).issuers for p in openpgp.packets(data) if p.tag == openpgp.SIGNATURE]
    assert any(keys["first"] in issuers for issuers in certifiers)  # gpg --quick-sign-key by "first" made it

    chosen = openpgp.select_key(data, keys["rsa"])

    assert chosen["keyring"] == keys["rsa_export"]
    assert chosen["dropped"] == [{"fingerprint": keys["rsa"], "kind": "signature", "reason":
                                  "a certification (type 0x10) by another key (issuer %s) on user ID "
                                  "'RSA vendor <rsa@example.invalid>'" % keys["first"]}]
    assert gpg.show(chosen["keyring"]) == {"primary": [keys["rsa"]], "subkeys": [keys["rsa_sub"]]}
    assert signed_by(keys, tmp_path, keys["rsa_sub"], chosen["keyring"])
    assert openpgp.select_key(chosen["keyring"], keys["rsa"])["keyring"] == chosen["keyring"]


def test_a_forged_user_id_is_dropped(keys):
    data = keys["gpg"].export(keys["wanted"])
    uid = packet(openpgp.USER_ID, b"Wanted vendor security <keys@attacker.invalid>")
    forgery = forged(primary_body(data), 0x13, issued_by(keys["wanted"]), hashed_user(openpgp.packets(uid)[0]))
    chosen = openpgp.select_key(insert(data, -1, uid + forgery), keys["wanted"])
    assert chosen["keyring"] == data and chosen["user_ids"] == ["Wanted vendor <wanted@example.invalid>"]
    assert chosen["dropped"] == [{"fingerprint": keys["wanted"], "kind": "user ID", "reason":
                                  "user ID 'Wanted vendor security <keys@attacker.invalid>': its self-signature does not verify"}]


def test_a_real_user_id_revocation_drops_that_user_id(keys):
    data = keys["gpg"].export(keys["uids"])
    chosen = openpgp.select_key(data, keys["uids"])
    assert chosen["user_ids"] == ["Current <current@example.invalid>"]
    assert [item["reason"] for item in chosen["dropped"]] == ["user ID 'Former <former@example.invalid>': revoked (user ID no longer valid)"]
    assert b"Former" not in chosen["keyring"]
    assert keys["gpg"].show(chosen["keyring"])["primary"] == [keys["uids"]]


def test_a_signature_after_the_wrong_packet_is_dropped(keys):
    """A (real) user ID self-signature moved after the primary key belongs there no more."""
    data = keys["gpg"].export(keys["wanted"])
    raws = [p.raw for p in openpgp.packets(data)]
    moved = b"".join([raws[0], raws[2], raws[1], raws[2]])
    chosen = openpgp.select_key(moved, keys["wanted"])
    assert chosen["keyring"] == data
    assert chosen["dropped"] == [{"fingerprint": keys["wanted"], "kind": "signature", "reason":
                                  "a certification (type 0x13), which does not belong on the primary key"}]
