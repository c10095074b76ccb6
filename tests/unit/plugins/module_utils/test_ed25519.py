"""Ed25519 verification against RFC 8032's test vectors (section 7.1), and against signatures made by the
`cryptography` package (present where ansible-core is installed) for random keys and messages."""

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.dlops.gpu.plugins.module_utils import ed25519

# RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3 (public key, message, signature)
VECTORS = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
]


@pytest.mark.parametrize("public, message, signature", VECTORS)
def test_rfc8032_vectors_verify(public, message, signature):
    assert ed25519.verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))


@pytest.mark.parametrize("public, message, signature", VECTORS)
def test_rfc8032_vectors_changed_anywhere_do_not_verify(public, message, signature):
    public, message, signature = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    assert not ed25519.verify(public, message + b"\x00", signature)
    for index in range(0, 64, 7):
        changed = bytearray(signature)
        changed[index] ^= 0x10
        assert not ed25519.verify(public, message, bytes(changed))
    other = VECTORS[0][0] if public != bytes.fromhex(VECTORS[0][0]) else VECTORS[1][0]
    assert not ed25519.verify(bytes.fromhex(other), message, signature)
    # S + L is the same S modulo L, but not the canonical encoding: refused (RFC 8032 5.1.7 step 1)
    s = int.from_bytes(signature[32:], "little") + ed25519.L
    assert s < 2 ** 256
    assert not ed25519.verify(public, message, signature[:32] + s.to_bytes(32, "little"))
    assert not ed25519.verify(public, message, signature[:63])
    assert not ed25519.verify(public[:31], message, signature)


def test_points_that_do_not_decode():
    assert ed25519.decode_point((ed25519.P + 1).to_bytes(32, "little")) is None  # y >= p
    assert ed25519.decode_point(b"\x00" * 31) is None
    # y = 2: (y^2 - 1) / (d y^2 + 1) has no square root, so no point has it
    assert ed25519.decode_point((2).to_bytes(32, "little")) is None
    # y = 1 gives x = 0, whose sign bit may not be set
    assert ed25519.decode_point((1 | 1 << 255).to_bytes(32, "little")) is None
    assert ed25519.decode_point((1).to_bytes(32, "little")) == ed25519.IDENTITY


def test_the_base_point_is_the_one_of_rfc8032():
    x, y = ed25519.BASE[0], ed25519.BASE[1]
    assert x == 15112221349535400772501151409588531511454012693041857206046113283949847762202
    assert y == 46316835694926478169428394003475163141307993866256225615783033603165251855960


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200), st.integers(0, 63))
def test_signatures_by_another_implementation_verify(seed, message, flip):
    keys = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    secret = keys.Ed25519PrivateKey.from_private_bytes(seed)
    public = secret.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = secret.sign(message)
    assert ed25519.verify(public, message, signature)
    changed = bytearray(signature)
    changed[flip] ^= 0x01
    assert not ed25519.verify(public, message, bytes(changed))
