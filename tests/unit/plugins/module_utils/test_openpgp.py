"""OpenPGP keys: fingerprints of real Debian archive keys (fixtures/keys) as gpg computes them, and select_key on
keys and bundles made by the real gpg, checked with `gpg --show-keys` and `gpgv` as apt runs it."""

import base64
import os
import re
import struct

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.dlops.gpu.plugins.module_utils import openpgp
from ...conftest import FIXTURES
# keys is a fixture: imported for pytest, which finds it by name
from .gpg_keys import gpgv, keys  # noqa: F401 pylint: disable=unused-import

KEYS = os.path.join(FIXTURES, "keys")
DEBIAN_AUTOMATIC = "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"
DEBIAN_STABLE = "4D64FEC119C2029067D6E791F8D2585B8783D481"
NOW = 1764547200  # 2025-12-01, a fixed now for the fixture keys (the Debian 12 automatic key expires in 2031)


def read(name):
    with open(os.path.join(KEYS, name), "rb") as handle:
        return handle.read()


def armor(data, crc=True):
    body = base64.b64encode(data).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    tail = ["=" + base64.b64encode(struct.pack(">I", openpgp.crc24(data))[1:]).decode()] if crc else []
    return ("\n".join(["-----BEGIN PGP PUBLIC KEY BLOCK-----", "Comment: test", ""] + lines + tail
                      + ["-----END PGP PUBLIC KEY BLOCK-----", ""])).encode()


# Fingerprints and armor on the real Debian keys ---------------------------------------------------------------

def test_ed25519_binary_key():
    assert openpgp.fingerprints(read("debian-12-stable.gpg")) == {"primary": [DEBIAN_STABLE], "subkeys": []}


@pytest.mark.parametrize("name", ["debian-12-automatic.gpg", "debian-12-automatic.asc"])
def test_rsa_key_with_subkey_binary_and_armored(name):
    assert openpgp.fingerprints(read(name)) == {
        "primary": [DEBIAN_AUTOMATIC], "subkeys": ["4CB50190207B4758A3F73A796ED0E7B82643E131"]}


def test_dearmor_gives_the_binary_keyring():
    assert openpgp.dearmor(read("debian-12-automatic.asc")) == read("debian-12-automatic.gpg")


def test_our_armor_helper_round_trips_with_and_without_a_checksum():
    data = read("debian-12-automatic.gpg")
    assert openpgp.dearmor(armor(data)) == data
    assert openpgp.dearmor(armor(data, crc=False)) == data


def test_concatenated_armored_blocks_give_both_keys():
    bundle = read("debian-12-automatic.asc") + b"\n" + armor(read("debian-12-stable.gpg"))
    assert openpgp.fingerprints(bundle)["primary"] == [DEBIAN_AUTOMATIC, DEBIAN_STABLE]


# the certifications of the Debian automatic key's user ID by five other Debian keys (gpg --list-packets)
DEBIAN_CERTIFIERS = ["1F89983E0081FDE018F3CC9673A4F27B8DD47936", "05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0",
                     "AC530D520F2F3269F5E98313A48449044AAD5C5D", "80E976F14A508A48E9CA3FE9BC372252CA1CF964",
                     "FBFABDB541B5DC955BD9BA6EDB16CF5BB12525C4"]
DEBIAN_UID = "Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>"


def debian_own_material():
    """The Debian automatic key without the five third-party certifications (packets at 4167 up to the subkey)."""
    kept = [p.raw for p in openpgp.packets(read("debian-12-automatic.gpg")) if not (p.tag == openpgp.SIGNATURE and
            any(fpr in openpgp.signature(p).issuers for fpr in DEBIAN_CERTIFIERS))]
    assert len(kept) == 10  # primary, 5 direct-key signatures (designated revokers), user ID, its self-signature,
    return b"".join(kept)   # subkey, binding


def test_the_debian_keys_verify_and_only_their_own_signatures_are_kept():
    chosen = openpgp.select_key(read("debian-12-automatic.asc"), DEBIAN_AUTOMATIC, NOW)
    assert chosen["keyring"] == debian_own_material()
    assert chosen["subkeys"] == ["4CB50190207B4758A3F73A796ED0E7B82643E131"]
    assert chosen["user_ids"] == [DEBIAN_UID]
    assert chosen["expires"] == 1926589461  # as gpg --show-keys prints it
    assert chosen["dropped"] == [
        {"fingerprint": DEBIAN_AUTOMATIC, "kind": "signature",
         "reason": "a certification (type 0x10) by another key (issuer %s) on user ID %r" % (fpr, DEBIAN_UID)}
        for fpr in DEBIAN_CERTIFIERS]
    # selecting what was selected gives it back unchanged (the module's idempotence)
    again = openpgp.select_key(chosen["keyring"], DEBIAN_AUTOMATIC, NOW)
    assert again["keyring"] == chosen["keyring"] and again["dropped"] == []
    stable = openpgp.select_key(read("debian-12-stable.gpg"), DEBIAN_STABLE, NOW)  # EdDSA (legacy algorithm 22)
    assert stable["keyring"] == read("debian-12-stable.gpg") and stable["dropped"] == []
    with pytest.raises(openpgp.OpenPGPError, match="expired on 2031-01-19 11:44:21 UTC"):
        openpgp.select_key(read("debian-12-automatic.gpg"), DEBIAN_AUTOMATIC, 1926589461)


def test_a_bundle_of_the_two_debian_keys_keeps_only_the_named_one():
    bundle = read("debian-12-stable.gpg") + read("debian-12-automatic.gpg")
    chosen = openpgp.select_key(bundle, DEBIAN_AUTOMATIC, NOW)
    assert chosen["keyring"] == debian_own_material()
    assert chosen["dropped"][0] == {"fingerprint": DEBIAN_STABLE, "kind": "primary", "reason": "another key than the one named"}
    assert [item["kind"] for item in chosen["dropped"][1:]] == ["signature"] * 5


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"<html>not found</html>", "neither a binary OpenPGP key .* nor an ASCII-armored one"),
    (b"\x00\x01\x02garbage", "first byte, 0x00"),
    (b"\x99\x00\x10abc", "truncated: the public key packet at byte 3 needs 16 bytes, 3 are left"),
    (b"\xff\xfe\x00", "the packet at byte 0 has a partial body length"),
    (b"\x80\x00", "reserved tag 0"),
])
def test_garbage_is_refused(data, message):
    with pytest.raises(openpgp.OpenPGPError, match=message):
        openpgp.select_key(data, DEBIAN_STABLE, NOW)


def test_truncated_keys_are_refused():
    with pytest.raises(openpgp.OpenPGPError, match="truncated"):
        openpgp.fingerprints(read("debian-12-automatic.gpg")[:500])
    with pytest.raises(openpgp.OpenPGPError, match="cut short"):
        openpgp.dearmor(read("debian-12-automatic.asc")[:-40])


def test_damaged_armor_is_refused():
    text = read("debian-12-automatic.asc")
    lines = text.split(b"\n")
    body = next(i for i, line in enumerate(lines) if len(line) == 64)
    flipped = list(lines)
    flipped[body] = (b"B" if lines[body][:1] != b"B" else b"C") + lines[body][1:]
    with pytest.raises(openpgp.OpenPGPError, match="checksum .* does not match"):
        openpgp.dearmor(b"\n".join(flipped))
    bad = list(lines)
    bad[body] = lines[body][:10] + b"*" + lines[body][11:]
    with pytest.raises(openpgp.OpenPGPError, match="line %d of the armor is not base64" % (body + 1)):
        openpgp.dearmor(b"\n".join(bad))
    utf8 = list(lines)
    utf8[body] = lines[body][:10] + u"\u00e9".encode("utf-8") + lines[body][12:]
    with pytest.raises(openpgp.OpenPGPError, match="line %d of the armor holds a byte that is not ASCII" % (body + 1)):
        openpgp.dearmor(b"\n".join(utf8))
    with pytest.raises(openpgp.OpenPGPError, match="padding in the middle"):
        openpgp.dearmor(armor(b"\x99\x00")[:-1].replace(b"\n=", b"\nAAAA\n="))


def test_an_armored_secret_key_block_is_refused():
    data = armor(read("debian-12-stable.gpg")).replace(b"PUBLIC KEY BLOCK", b"PRIVATE KEY BLOCK")
    with pytest.raises(openpgp.OpenPGPError, match="armored PRIVATE KEY BLOCK \\(a secret key\\), not a PUBLIC KEY BLOCK"):
        openpgp.dearmor(data)


def test_trust_and_marker_packets_are_left_out():
    key = read("debian-12-stable.gpg")
    packets = openpgp.packets(key)
    trust, marker = b"\xb0\x02\x00\x00", b"\xa8\x03PGP"  # old-format tag 12 and tag 10
    bundle = b"".join(p.raw + (trust if p.tag == openpgp.USER_ID else b"") for p in packets) + marker
    assert openpgp.select_key(bundle, DEBIAN_STABLE, NOW)["keyring"] == key


@pytest.mark.parametrize("tag, name", [(11, "literal data"), (8, "compressed data"), (1, "public-key encrypted session key")])
def test_a_packet_that_is_not_part_of_a_key_is_refused(tag, name):
    bundle = read("debian-12-stable.gpg") + bytes([0xC0 | tag, 3]) + b"abc" + read("debian-12-automatic.gpg")
    with pytest.raises(openpgp.OpenPGPError, match="holds a %s packet \\(tag %d, at byte 280\\)" % (name, tag)):
        openpgp.select_key(bundle, DEBIAN_AUTOMATIC, NOW)


def test_a_signature_before_any_key_is_refused():
    packets = openpgp.packets(read("debian-12-stable.gpg"))
    with pytest.raises(openpgp.OpenPGPError, match="signature packet at byte 0 comes before any public key"):
        openpgp.select_key(packets[-1].raw + read("debian-12-stable.gpg"), DEBIAN_STABLE, NOW)


def test_the_same_key_twice_is_refused():
    with pytest.raises(openpgp.OpenPGPError, match="holds the key %s 2 times" % DEBIAN_STABLE):
        openpgp.select_key(read("debian-12-stable.gpg") * 2, DEBIAN_STABLE, NOW)


def test_normalize_accepts_the_spaced_form_vendors_publish():
    assert openpgp.normalize("EB69 3B30 35CD 5710 E231  E123 A4B4 6996 3BF8 63CC") == \
        "EB693B3035CD5710E231E123A4B469963BF863CC"


@pytest.mark.parametrize("written", [
    "0xEB693B3035CD5710E231E123A4B469963BF863CC", "0Xeb693b3035cd5710e231e123a4b469963bf863cc",
    "EB:69:3B:30:35:CD:57:10:E2:31:E1:23:A4:B4:69:96:3B:F8:63:CC",
    u" EB69 3B30 35CD 5710 E231\u00a0 E123 A4B4 6996\t3BF8 63CC\n",  # a no-break space copied from a web page
])
def test_normalize_accepts_0x_colons_and_white_space(written):
    assert openpgp.normalize(written) == "EB693B3035CD5710E231E123A4B469963BF863CC"


@pytest.mark.parametrize("written, char", [
    ("EB693B3035CD5710E231E123A4B469963BF863CG", "G"), ("EB69-3B30-35CD-5710-E231-E123-A4B4-6996-3BF8-63CC", "-"),
    ("0x0xEB693B3035CD5710E231E123A4B469963BF863CC", "x"), ("EB693B3035CD5710E231E123A4B469963BF863C\u00c7", u"\u00c7"),
])
def test_normalize_refuses_other_characters_rather_than_strip_them(written, char):
    with pytest.raises(openpgp.OpenPGPError, match="fingerprint has a character that is not a hex digit: %s"
                       % re.escape(repr(char))):
        openpgp.normalize(written)
    with pytest.raises(openpgp.OpenPGPError, match="not a hex digit"):
        openpgp.select_key(read("debian-12-stable.gpg"), written, NOW)


@pytest.mark.parametrize("name", ["debian-12-automatic.asc", "debian-12-stable.gpg"])
def test_a_utf8_byte_order_mark_before_a_key_is_skipped(name):
    data = read(name) if name.endswith(".asc") else armor(read(name))
    fpr = DEBIAN_AUTOMATIC if "automatic" in name else DEBIAN_STABLE
    assert openpgp.select_key(b"\xef\xbb\xbf" + data, fpr, NOW)["keyring"] == openpgp.select_key(data, fpr, NOW)["keyring"]
    assert openpgp.dearmor(b"\xef\xbb\xbf" + data) == openpgp.dearmor(data)
    with pytest.raises(openpgp.OpenPGPError, match="the file is empty"):
        openpgp.dearmor(b"\xef\xbb\xbf")


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_key_or_a_message_never_a_traceback(data):
    try:
        openpgp.select_key(data, DEBIAN_STABLE, NOW)
    except openpgp.OpenPGPError as exc:
        assert str(exc)


@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_damaged_real_keys_give_a_key_or_a_message(data):
    key = bytearray(read(data.draw(st.sampled_from(["debian-12-stable.gpg", "debian-12-automatic.asc"]))))
    for dummy in range(data.draw(st.integers(1, 4))):
        key[data.draw(st.integers(0, len(key) - 1))] = data.draw(st.integers(0, 255))
    key = bytes(key[:data.draw(st.integers(0, len(key)))])
    try:
        chosen = openpgp.select_key(key, DEBIAN_STABLE, NOW)
    except openpgp.OpenPGPError as exc:
        assert str(exc)
    else:
        assert [p.tag for p in openpgp.packets(chosen["keyring"])][0] == openpgp.PUBLIC_KEY


# Keys made by the real gpg -----------------------------------------------------------------------------------

@pytest.mark.parametrize("armored", [False, True])
def test_bundle_of_three_keeps_only_the_wanted_key_for_gpg_and_gpgv(keys, tmp_path, armored):
    gpg = keys["gpg"]
    bundle = gpg.export(keys["first"], keys["wanted"], keys["last"], armor=armored)
    assert gpg.show(bundle)["primary"] == [keys["first"], keys["wanted"], keys["last"]]  # gpg keeps this order

    chosen = openpgp.select_key(bundle, keys["wanted"])

    assert gpg.show(chosen["keyring"]) == {"primary": [keys["wanted"]], "subkeys": []}
    assert openpgp.fingerprints(chosen["keyring"]) == {"primary": [keys["wanted"]], "subkeys": []}
    assert chosen["keyring"] == gpg.export(keys["wanted"])
    assert [item["kind"] for item in chosen["dropped"]] == ["primary", "primary"]
    assert chosen["user_ids"] == ["Wanted vendor <wanted@example.invalid>"]
    assert sorted(item["fingerprint"] for item in chosen["dropped"]) == sorted([keys["first"], keys["last"]])
    keyring = tmp_path / "out.gpg"
    keyring.write_bytes(chosen["keyring"])
    release = tmp_path / "Release"
    release.write_bytes(b"Origin: test\n")
    assert gpgv(keyring, gpg.sign(keys["wanted"], str(release)), str(release), tmp_path / "gpgv")
    for other in ("first", "last"):
        signed = tmp_path / ("Release-" + other)
        signed.write_bytes(b"Origin: test\n")
        assert not gpgv(keyring, gpg.sign(keys[other], str(signed)), str(signed), tmp_path / "gpgv")
    # the whole bundle, as the module used to write it, would have made gpgv accept the extra key's signature
    everything = tmp_path / "bundle.gpg"
    everything.write_bytes(gpg.export(keys["first"], keys["wanted"], keys["last"]))
    assert gpgv(everything, str(tmp_path / "Release-first.sig"), str(tmp_path / "Release-first"), tmp_path / "gpgv")


def test_an_expired_key_is_refused_with_its_date(keys):
    data = keys["gpg"].export(keys["expired"], armor=True)
    with pytest.raises(openpgp.OpenPGPError, match="the key %s expired on 2020-01-02 00:00:00 UTC" % keys["expired"]):
        openpgp.select_key(data, keys["expired"])
    # the same key before its expiry is fine: the date comes from its self-signature, now from the caller
    assert openpgp.select_key(data, keys["expired"], 1577836800 + 3600)["expires"] == 1577923200


def test_a_revoked_key_is_refused(keys):
    data = keys["gpg"].export(keys["first"], keys["revoked"])
    shown = keys["gpg"].run("--with-colons", "--show-keys", input=data).stdout.decode().splitlines()
    assert [line.split(":")[1] for line in shown if line.startswith("pub:")][1] == "r"  # gpg: the second is revoked
    with pytest.raises(openpgp.OpenPGPError, match="the key %s is revoked \\(no reason given\\)" % keys["revoked"]):
        openpgp.select_key(data, keys["revoked"])
    assert openpgp.select_key(data, keys["first"])["keyring"] == keys["gpg"].export(keys["first"])


def test_a_bundle_with_a_secret_key_is_refused(keys):
    gpg = keys["gpg"]
    bundle = gpg.export(keys["wanted"]) + gpg.export_secret(keys["last"])
    with pytest.raises(openpgp.OpenPGPError, match="holds a secret key \\(packet at byte %d\\)" % len(gpg.export(keys["wanted"]))):
        openpgp.select_key(bundle, keys["wanted"])


def test_literal_data_made_by_gpg_is_refused(keys, tmp_path):
    gpg = keys["gpg"]
    note = tmp_path / "note"
    note.write_bytes(b"hello")
    gpg.run("--compress-algo", "none", "--store", "--output", str(note) + ".gpg", str(note))
    with pytest.raises(openpgp.OpenPGPError, match="literal data packet \\(tag 11"):
        openpgp.select_key(gpg.export(keys["wanted"]) + (tmp_path / "note.gpg").read_bytes(), keys["wanted"])


def test_a_subkey_fingerprint_is_not_accepted(keys):
    data = keys["gpg"].export(keys["with_subkeys"])
    with pytest.raises(openpgp.OpenPGPError, match="%s is a subkey of the primary key %s, and only a primary key's" % (
            keys["sub_good"], keys["with_subkeys"])):
        openpgp.select_key(data, keys["sub_good"])


def test_another_fingerprint_names_what_the_file_holds(keys):
    data = keys["gpg"].export(keys["first"], keys["last"])
    with pytest.raises(openpgp.OpenPGPError, match="it holds the keys %s, %s, not %s" % (keys["first"], keys["last"], keys["wanted"])):
        openpgp.select_key(data, keys["wanted"])


def test_expired_and_revoked_subkeys_are_dropped(keys, tmp_path):
    gpg = keys["gpg"]
    data = gpg.export(keys["with_subkeys"])
    assert gpg.show(data)["subkeys"] == [keys["sub_expired"], keys["sub_revoked"], keys["sub_good"]]

    chosen = openpgp.select_key(data, keys["with_subkeys"])

    assert chosen["subkeys"] == [keys["sub_good"]]
    assert gpg.show(chosen["keyring"]) == {"primary": [keys["with_subkeys"]], "subkeys": [keys["sub_good"]]}
    reasons = {item["fingerprint"]: item["reason"] for item in chosen["dropped"]}
    assert reasons == {keys["sub_expired"]: "expired on 2020-01-02 00:00:00 UTC",
                       keys["sub_revoked"]: "revoked (no reason given)"}
    keyring = tmp_path / "out.gpg"
    keyring.write_bytes(chosen["keyring"])
    release = tmp_path / "Release"
    release.write_bytes(b"Origin: test\n")
    assert gpgv(keyring, gpg.sign(keys["sub_good"], str(release)), str(release), tmp_path / "gpgv")
    # selecting again what was selected gives the same bytes: the module's idempotence rests on it
    assert openpgp.select_key(chosen["keyring"], keys["with_subkeys"])["keyring"] == chosen["keyring"]
