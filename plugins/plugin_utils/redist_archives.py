# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The step cuda_toolkit and cuda_cudnn share: the archives redist_fetch put in the controller's cache, copied to
the host, then the module that unpacks them. One task does both, so that check mode, which copies nothing, still
reports the task's change exactly as the real run makes it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class RedistUnpackAction(ActionBase):
    """Subclasses name the module and say which of its arguments are archives."""

    TRANSFERS_FILES = True
    MODULE = None

    def archives(self, args):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(RedistUnpackAction, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        copied = []
        if args.get("state", "present") == "present" and not self._task.check_mode:
            # An archive without a controller path is already on the host (the module's examples).
            for archive in [a for a in self.archives(args) if isinstance(a, dict) and a.get("path")]:
                copy = self._copy(archive, args.get("archive_dir"), task_vars)
                if copy.get("failed"):
                    copy["msg"] = "%s: copying %s to the host failed: %s" % (
                        self.MODULE, archive.get("relative_path"), copy.get("msg"))
                    return dict(result, **copy)
                if copy.get("changed"):
                    copied.append(archive["relative_path"])
        module = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        result.update(module)
        result["copied"] = copied
        result["changed"] = bool(module.get("changed") or copied)
        return result

    def _copy(self, archive, archive_dir, task_vars):
        """ansible.builtin.copy of one archive into archive_dir/<its relative_path's folder>/."""
        if not archive.get("relative_path"):
            raise AnsibleActionFail("%s: an archive without a relative_path: %r" % (self.MODULE, archive))
        if not archive_dir:
            raise AnsibleActionFail("%s: archive_dir is required with archives to copy" % self.MODULE)
        task = self._task.copy()
        task.args = dict(src=archive["path"], mode="0644",
                         dest=posixpath.join(archive_dir, posixpath.dirname(archive["relative_path"])) + "/")
        action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)
