# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nvidia_driver filters: packages, preflight and state checks (plugins/module_utils/driver_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.dlops.gpu.plugins.module_utils import driver_plan, rpm


def nvidia_driver_packages(spec):
    try:
        return driver_plan.nvidia_driver_packages(spec)
    except ValueError as exc:
        raise AnsibleFilterError("nvidia_driver_packages: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "nvidia_driver_packages": nvidia_driver_packages,
            "nvidia_driver_preflight": driver_plan.nvidia_driver_preflight,
            "nvidia_driver_versions": driver_plan.branch_versions,
            "nvidia_driver_running_matches": driver_plan.running_matches,
            "nvidia_driver_processes": driver_plan.gpu_processes,
            "nvidia_driver_stream_versions": driver_plan.stream_versions,
            "nvidia_driver_rpm_installed": rpm.installed,
            "nvidia_driver_dnf_change": driver_plan.dnf_change_needed,
        }
