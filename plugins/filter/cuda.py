# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CUDA filters: the CUDA/driver table (module_utils/cuda_versions.py), toolkit plans and redist picks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_plan
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions
from ansible_collections.dlops.gpu.plugins.module_utils import redist


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


def redist_pick(requests, releases, product="cuda"):
    try:
        return redist.pick(product, requests, releases)
    except KeyError as exc:
        raise AnsibleFilterError("redist_pick: no fetched release %s" % exc)


def redist_platform(machine):
    try:
        return redist.MACHINE_PLATFORMS[machine]
    except KeyError:
        raise AnsibleFilterError("redist_platform: NVIDIA publishes no Linux redist archives for %r" % (machine,))


class FilterModule(object):
    def filters(self):
        return {
            "cuda_min_driver": cuda_min_driver,
            "cuda_driver_support": cuda_driver_support,
            "cuda_preflight": cuda_plan.cuda_preflight,
            "cuda_settings_errors": cuda_plan.settings_errors,
            "cuda_toolkit_plan": cuda_plan.cuda_toolkit_plan,
            "cudnn_plan": cuda_plan.cudnn_plan,
            "redist_pick": redist_pick,
            "redist_platform": redist_platform,
        }
