# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ed25519 signature verification as RFC 8032 section 5.1.7 describes it, in pure Python (standard library only).

Only verification: no secret key is ever handled here, so nothing needs to run in constant time. Points are kept
in extended homogeneous coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x*y = T/Z (RFC 8032 section 5.1.4).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

P = 2 ** 255 - 19  # the field
L = 2 ** 252 + 27742317777372353535851937790883648493  # the order of the base point
D = -121665 * pow(121666, P - 2, P) % P  # the curve constant d = -121665/121666
SQRT_M1 = pow(2, (P - 1) // 4, P)  # a square root of -1


def _add(one, two):
    """The sum of two points (RFC 8032 section 5.1.4, 'addition')."""
    x1, y1, z1, t1 = one
    x2, y2, z2, t2 = two
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * D * t1 * t2 % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(point):
    """Twice a point (RFC 8032 section 5.1.4, 'doubling')."""
    x1, y1, z1 = point[:3]
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _negate(point):
    x, y, z, t = point
    return ((-x) % P, y, z, (-t) % P)


def _same(one, two):
    """Whether two points are equal, whatever their Z."""
    return (one[0] * two[2] - two[0] * one[2]) % P == 0 and (one[1] * two[2] - two[1] * one[2]) % P == 0


def decode_point(data):
    """The point a 32-octet string encodes (RFC 8032 section 5.1.3), or None when it encodes none."""
    if len(data) != 32:
        return None
    number = int.from_bytes(data, "little")
    sign = number >> 255
    y = number & ((1 << 255) - 1)
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    check = v * x * x % P
    if check == (-u) % P:
        x = x * SQRT_M1 % P
    elif check != u:
        return None  # (y*y - 1)/(d*y*y + 1) has no square root: no point has this y
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


_BY = 4 * pow(5, P - 2, P) % P
BASE = decode_point(_BY.to_bytes(32, "little"))  # y = 4/5, x even ("positive")
IDENTITY = (0, 1, 1, 0)


def _combination(one, first, two, second):
    """[one]first + [two]second, both scalars walked together from their top bit (Straus/Shamir)."""
    both = _add(first, second)
    result = IDENTITY
    for bit in range(max(one.bit_length(), two.bit_length()) - 1, -1, -1):
        result = _double(result)
        pick = ((one >> bit) & 1, (two >> bit) & 1)
        if pick == (1, 1):
            result = _add(result, both)
        elif pick == (1, 0):
            result = _add(result, first)
        elif pick == (0, 1):
            result = _add(result, second)
    return result


def verify(public, message, signature):
    """Whether ``signature`` (64 octets, R || S) is the Ed25519 signature of ``message`` by the 32-octet ``public``
    key (RFC 8032 section 5.1.7, checking [S]B = R + [k]A')."""
    public, message, signature = bytes(public), bytes(message), bytes(signature)
    if len(signature) != 64 or len(public) != 32:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    point_a = decode_point(public)
    point_r = decode_point(signature[:32])
    if point_a is None or point_r is None:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    # [S]B - [k]A' must be R
    return _same(_combination(s, BASE, k, _negate(point_a)), point_r)
