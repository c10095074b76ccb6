"""Fingerprints of real Debian archive keys (fixtures/keys), as gpg computes them."""

import os

import pytest

from ansible_collections.dlops.gpu.plugins.module_utils import openpgp
from ...conftest import FIXTURES

KEYS = os.path.join(FIXTURES, "keys")


def read(name):
    with open(os.path.join(KEYS, name), "rb") as handle:
        return handle.read()


def test_ed25519_binary_key():
    assert openpgp.fingerprints(read("debian-12-stable.gpg")) == {
        "primary": ["4D64FEC119C2029067D6E791F8D2585B8783D481"], "subkeys": []}


@pytest.mark.parametrize("name", ["debian-12-automatic.gpg", "debian-12-automatic.asc"])
def test_rsa_key_with_subkey_binary_and_armored(name):
    assert openpgp.fingerprints(read(name)) == {
        "primary": ["B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"],
        "subkeys": ["4CB50190207B4758A3F73A796ED0E7B82643E131"]}


def test_dearmor_gives_the_binary_keyring():
    assert openpgp.dearmor(read("debian-12-automatic.asc")) == read("debian-12-automatic.gpg")


def test_garbage_and_truncated_keys_fail():
    with pytest.raises(openpgp.OpenPGPError, match="not an OpenPGP packet header"):
        openpgp.fingerprints(b"<html>not found</html>")
    with pytest.raises(openpgp.OpenPGPError, match="truncated"):
        openpgp.fingerprints(read("debian-12-automatic.gpg")[:500])


def test_normalize_accepts_the_spaced_form_vendors_publish():
    assert openpgp.normalize("EB69 3B30 35CD 5710 E231  E123 A4B4 6996 3BF8 63CC") == \
        "EB693B3035CD5710E231E123A4B469963BF863CC"
