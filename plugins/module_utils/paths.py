# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a path from a setting may be where it is written into a file or a script: plain and absolute."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_PLAIN_RE = re.compile(r"^(/[A-Za-z0-9._+-]+)+\Z")


def plain(value):
    """Whether ``value`` is an absolute path of letters, digits and . _ + - between single slashes, with no . or ..
    component and no trailing slash (so the same in a shell script, a modulefile, ld.so.conf or a repository file,
    and naming the file it seems to)."""
    return (isinstance(value, str) and bool(_PLAIN_RE.match(value))
            and not any(part in (".", "..") for part in value.split("/")))
