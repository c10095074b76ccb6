# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CUDA filters: the CUDA/driver table (module_utils/cuda_versions.py), the cuda and cudnn roles' plans
(module_utils/cuda_plan.py) and the archives each plan takes from what redist_fetch fetched."""

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


class FilterModule(object):
    def filters(self):
        return {
            "cuda_min_driver": cuda_min_driver,
            "cuda_driver_support": cuda_driver_support,
            "cuda_plan": cuda_plan.plan,
            "cudnn_plan": cuda_plan.cudnn_role_plan,
            "redist_pick": redist_pick,
        }
