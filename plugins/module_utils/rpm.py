# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What rpm says is installed: the query format the collection asks with, and its parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# rpm -q --qf QUERY_FORMAT NAME...: one "name<TAB>epoch:version-release" line per installed package.
QUERY_FORMAT = "%{NAME}\t%{EPOCH}:%{VERSION}-%{RELEASE}\n"


def installed(text):
    """rpm's output (QUERY_FORMAT) as {name: epoch:version-release}; an epoch rpm shows as (none) becomes 0.
    Lines for packages that are not installed ("package X is not installed") are left out."""
    found = {}
    for line in (text or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            found[parts[0]] = parts[1].replace("(none):", "0:")
    return found
