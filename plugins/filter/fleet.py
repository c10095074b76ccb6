# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report filters (plugins/module_utils/fleet_report.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dlops.gpu.plugins.module_utils import fleet_report


class FilterModule(object):
    def filters(self):
        return {
            "fleet_row": fleet_report.fleet_row,
            "fleet_report": fleet_report.report,
        }
