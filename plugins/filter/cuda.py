# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the collection's CUDA/driver table (plugins/module_utils/cuda_versions.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions


def cuda_min_driver(cuda_version):
    try:
        return cuda_versions.cuda_min_driver(cuda_version)
    except ValueError as exc:
        raise AnsibleFilterError("cuda_min_driver: %s" % exc)


def cuda_driver_support(cuda_version, driver_version):
    try:
        return cuda_versions.cuda_driver_support(cuda_version, driver_version)
    except ValueError as exc:
        raise AnsibleFilterError("cuda_driver_support: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "cuda_min_driver": cuda_min_driver,
            "cuda_driver_support": cuda_driver_support,
        }
