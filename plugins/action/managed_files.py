# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dlops.gpu.managed_files: files given as a template are rendered here, on the controller, then the module runs.

A role's plan can then name its files (path, mode, template) without rendering them in Jinja: the template is
found and rendered as the ansible.builtin.template lookup does it, from the role's templates/ folder and with the
task's variables plus the entry's template_vars.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        files = args.get("files")
        if isinstance(files, list):
            rendered, lookup = [], None
            for entry in files:
                if isinstance(entry, dict) and "template" in entry:
                    entry = dict(entry)
                    name, template_vars = entry.pop("template"), entry.pop("template_vars", None) or {}
                    if "content" in entry or not isinstance(template_vars, dict):
                        result.update(failed=True, msg="managed_files: %s: give content or a template (with "
                                      "template_vars a mapping), not both; nothing was changed" % entry.get("path"))
                        return result
                    if lookup is None:
                        lookup = self._shared_loader_obj.lookup_loader.get(
                            "ansible.builtin.template", loader=self._loader, templar=self._templar)
                    try:
                        entry["content"] = to_text(lookup.run([name], variables=task_vars,
                                                              template_vars=template_vars)[0])
                    except AnsibleError as exc:
                        result.update(failed=True, msg="managed_files: %s: template %s: %s; nothing was changed"
                                      % (entry.get("path"), name, to_text(exc)))
                        return result
                rendered.append(entry)
            args["files"] = rendered
        result.update(self._execute_module(module_name="dlops.gpu.managed_files", module_args=args,
                                           task_vars=task_vars))
        return result
