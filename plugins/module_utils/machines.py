# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names one machine goes by, in one table: what uname says, NVIDIA's redist platform and repository folder,
the package architecture of dpkg and of rpm, and the multiarch library triplet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# uname -m -> the other names. redist None: the collection installs no redist archives there (NVIDIA's ppc64le
# archives end with CUDA 12.4).
MACHINES = {
    "x86_64": {"redist": "linux-x86_64", "repo": "x86_64", "deb": "amd64", "rpm": "x86_64",
               "triplet": "x86_64-linux-gnu"},
    "aarch64": {"redist": "linux-sbsa", "repo": "sbsa", "deb": "arm64", "rpm": "aarch64",
                "triplet": "aarch64-linux-gnu"},
    "ppc64le": {"redist": None, "repo": "ppc64le", "deb": "ppc64el", "rpm": "ppc64le",
                "triplet": "powerpc64le-linux-gnu"},
}
# Debian's names for the same machines, as a probe or a manifest may give them.
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64", "ppc64el": "ppc64le"}


def names(machine):
    """The table's row for a machine (uname's or Debian's name); for one not in it, every name is the machine's own
    except redist, which is None."""
    machine = str(machine or "")
    row = MACHINES.get(_ALIASES.get(machine, machine))
    if row:
        return dict(row)
    return {"redist": None, "repo": machine, "deb": machine, "rpm": machine, "triplet": machine + "-linux-gnu"}


def redist_platform(machine):
    """NVIDIA's redist platform (linux-x86_64, linux-sbsa) for a machine, or None where it publishes none."""
    return names(machine)["redist"]
