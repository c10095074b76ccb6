# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nvidia_driver_plan: the nvidia_driver role's decision (plugins/module_utils/driver_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dlops.gpu.plugins.module_utils import driver_plan


class FilterModule(object):
    def filters(self):
        return {"nvidia_driver_plan": driver_plan.plan}
