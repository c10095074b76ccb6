# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The step cuda_toolkit and cuda_cudnn share: the archives redist_fetch put in the controller's cache, copied to
the host, then the module that unpacks them. One task does both, so that check mode, which copies nothing, still
reports the task's change exactly as the real run makes it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.plugins.action import ActionBase
from ansible_collections.dlops.gpu.plugins.module_utils import redist


class RedistUnpackAction(ActionBase):
    """Subclasses name the module and say which of its arguments are archives.

    The module runs in check mode first, on the host: it checks every archive's fields and path, and says whether
    anything is to change. Only then, and only outside check mode, are the archives copied (each to
    archive_dir/<its relative_path>, the path checked here too) and the module run for real. A host that needs
    nothing gets no copy, and its task reports no change, as check mode does.
    """

    TRANSFERS_FILES = True
    MODULE = None

    def archives(self, args):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(RedistUnpackAction, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        copy_from = [a for a in self.archives(args) if isinstance(a, dict) and a.get("path")]
        if args.get("state", "present") != "present" or self._task.check_mode or not copy_from:
            result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
            return result
        # The same checks and the same answer as check mode, before anything reaches the host.
        self._task.check_mode = True  # what _execute_module hands the module as _ansible_check_mode
        try:
            planned = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        finally:
            self._task.check_mode = False
        if planned.get("failed") or not planned.get("changed"):
            result.update(planned)
            return result
        copied = []
        for archive in copy_from:
            copy = self._copy(archive, args.get("archive_dir"), task_vars)
            if copy.get("failed"):
                result.update(copy, msg="%s: copying %s to the host failed: %s; nothing was installed" % (
                    self.MODULE, archive.get("relative_path"), copy.get("msg")), copied=copied)
                return result
            if copy.get("changed"):
                copied.append(archive["relative_path"])
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        result["copied"] = copied
        return result

    def _copy(self, archive, archive_dir, task_vars):
        """ansible.builtin.copy of one archive to archive_dir/<relative_path>; the path is checked first."""
        try:
            relative = redist.check_relative_path(archive.get("relative_path"), "%s archive" % self.MODULE)
        except redist.RedistError as exc:
            return {"failed": True, "msg": str(exc)}
        if posixpath.basename(str(archive["path"])) != posixpath.basename(relative):
            return {"failed": True, "msg": "the controller's copy %s is not named like %s" % (archive["path"], relative)}
        task = self._task.copy()
        task.args = dict(src=archive["path"], mode="0644",
                         dest=posixpath.join(archive_dir, posixpath.dirname(relative)) + "/")
        action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)
