# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dlops.gpu.cuda_toolkit: the components' archives copied from the controller's cache, then the module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dlops.gpu.plugins.plugin_utils.redist_archives import RedistUnpackAction


class ActionModule(RedistUnpackAction):
    MODULE = "dlops.gpu.cuda_toolkit"

    def archives(self, args):
        components = args.get("components") or {}
        return list(components.values()) if isinstance(components, dict) else [components]
