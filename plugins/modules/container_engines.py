#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: container_engines
short_description: Wire the NVIDIA container runtime into Docker and containerd, keeping their configuration
version_added: 0.1.0
description:
  - Docker - merges the C(nvidia) runtime into C(daemon.json) by editing its text. Only C(runtimes.nvidia),
    C(default-runtime) and C(features.cdi) change; every other byte stays as it was (key order, indentation, line
    endings, escapes, non-ASCII text, other keys given twice; 4 spaces for a new file). A key the module owns
    given twice, or in another case (which dockerd reads as the same key), fails the task with nothing changed.
    Optionally makes C(nvidia) the default runtime and turns on the CDI feature flag. A file that is not valid
    JSON, or whose values nest more than 256 levels deep, fails the task and is left untouched. A UTF-8 byte
    order mark at its start (which dockerd 23 and later skip) is kept as it is and the edits go after it.
    C(runtimes) or C(features) set to C(null), which dockerd reads as empty, become objects holding the
    module's values. Where C(dockerd) has C(--validate) (Docker 23 and later), the new file is validated by it
    before it is put in place.
  - containerd - writes a drop-in (C(conf.d/99-nvidia.toml)) holding the runtime and adds it to the main
    configuration's C(imports) (edited in place, a multi-line array and its comments kept), for configuration
    versions 2 (containerd 1.x) and 3 (containerd 2.x). Imports are resolved as containerd resolves them (relative
    to the importing file's folder, globs expanded, nested imports followed); a drop-in they reach already is not
    added again. An import that does not exist or cannot be read, starts with a byte order mark or nests more than
    256 levels deep fails the task with nothing changed. containerd before 2.0 replaces a whole plugin table with
    an imported one (and before 1.7 globs a relative import against C(/), its working directory), so for those
    releases the drop-in carries the operator's CRI settings along with the runtime; re-running the module
    refreshes that copy. After a change
    C(containerd config dump) must show the runtime, or both files are put back and the task fails.
  - Engines that are not installed are reported as absent and left alone; nothing is installed.
  - Files are written to a temporary file beside them and renamed into place; a symlink stays a symlink and its
    target is changed. A file that could not be replaced (read-only filesystem, immutable) fails the task before
    anything is written, in check mode too. A file that is not UTF-8 fails the task, naming it.
author:
  - dlops.gpu maintainers (@dlops)
options:
  engines:
    description: The engines to configure where they are installed.
    type: list
    elements: str
    choices: [docker, containerd]
    default: [docker, containerd]
  runtime_path:
    description: The NVIDIA container runtime binary.
    type: path
    default: /usr/bin/nvidia-container-runtime
  default_runtime:
    description:
      - Make C(nvidia) the default runtime. False takes back a default of C(nvidia) and leaves any other default
        as it is.
    type: bool
    default: false
  cdi:
    description: Turn on CDI (Docker's C(features.cdi), containerd's C(enable_cdi) with C(/etc/cdi) and C(/var/run/cdi)).
    type: bool
    default: false
  docker_config:
    description: Docker's daemon configuration.
    type: path
    default: /etc/docker/daemon.json
  containerd_config:
    description: containerd's main configuration.
    type: path
    default: /etc/containerd/config.toml
  containerd_drop_in:
    description: The drop-in this module owns.
    type: path
    default: /etc/containerd/conf.d/99-nvidia.toml
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes
"""

EXAMPLES = r"""
- name: Add the nvidia runtime to the engines present
  dlops.gpu.container_engines:
  register: engines
  notify: Restart the container engines

- name: Docker only, with nvidia as the default runtime and CDI on
  dlops.gpu.container_engines:
    engines: [docker]
    default_runtime: true
    cdi: true
"""

RETURN = r"""
engines:
  description: Per engine - present, changed, active (its systemd unit runs), version, and the files it owns.
  returned: always
  type: dict
  sample:
    docker: {present: true, changed: true, active: true, version: "26.1.5", files: [/etc/docker/daemon.json]}
    containerd: {present: false, changed: false, active: false, version: null, files: []}
msg:
  description: What was found and done, in a sentence.
  returned: always
  type: str
"""

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import engine_config
from ansible_collections.dlops.gpu.plugins.module_utils.atomic_file import FileWriteError
from ansible_collections.dlops.gpu.plugins.module_utils.engine_config import ConfigError


def _read(module, path, result, bom=False):
    """(bytes or None, text) of the file ``path`` leads to; a file that cannot be read or is not UTF-8 fails."""
    try:
        data = atomic_file.read(path)
        return data, engine_config.decode_text(data, path, bom)
    except (ConfigError, FileWriteError) as exc:
        module.fail_json(msg=str(exc), engines=result)


def _selinux(module):
    """The temp file gets the SELinux context of the file it replaces (the folder's default when new)."""
    if not module.selinux_enabled():
        return None

    def prepare(temp, target):
        context = module.selinux_context(target) if os.path.exists(target) else module.selinux_default_context(target)
        module.set_context_if_different(temp, context, False)
    return prepare


def _check(module, paths, result):
    """Fail now, before anything is written (check mode too), when one of ``paths`` could not be replaced."""
    try:
        for path in paths:
            atomic_file.check_writable(atomic_file.resolve(path))
    except FileWriteError as exc:
        module.fail_json(msg=str(exc), engines=result)


def _restore(module, originals):
    """Put back the bytes each file's target had; a target that did not exist is removed (a link stays)."""
    for path, data in reversed(originals):
        if data is None:
            atomic_file.remove(atomic_file.resolve(path))
        else:
            atomic_file.write(path, data, prepare=_selinux(module))


def _active(module, unit):
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return False
    return module.run_command([systemctl, "is-active", "--quiet", unit])[0] == 0


def _version(module, binary):
    out = module.run_command([binary, "--version"])[1]
    match = re.search(r"([0-9]+\.[0-9]+\.[0-9]+)", out)
    return (match.group(1) if match else None), out


def docker(module, params, result, diffs):
    dockerd = module.get_bin_path("dockerd")
    if not dockerd:
        return
    path = params["docker_config"]
    before = _read(module, path, result, bom=True)[1]
    version = _version(module, dockerd)[0]
    try:
        after = engine_config.docker_daemon_config(before, params["runtime_path"], params["default_runtime"],
                                                   params["cdi"], path)
    except ConfigError as exc:
        module.fail_json(msg=str(exc), engines=result)
    changed = after != before
    result["docker"].update(present=True, changed=changed, version=version, files=[path])
    if not changed:
        return
    _check(module, [path], result)
    diffs.append(dict(before=before, after=after, before_header=path, after_header=path))
    if module.check_mode:
        return
    if "--validate" in module.run_command([dockerd, "--help"])[1]:
        handle, temp = tempfile.mkstemp(prefix="dlops-daemon-", suffix=".json")
        with os.fdopen(handle, "wb") as out:
            out.write(after.encode("utf-8"))
        try:
            rc, out, err = module.run_command([dockerd, "--validate", "--config-file", temp])
        finally:
            os.unlink(temp)
        if rc != 0:
            module.fail_json(msg="dockerd rejects the merged %s, which was left as it was: %s"
                             % (path, (err or out).strip()), engines=result)
    try:
        atomic_file.write(path, after.encode("utf-8"), prepare=_selinux(module))
    except FileWriteError as exc:
        module.fail_json(msg=str(exc), engines=result)
    result["docker"]["active"] = _active(module, "docker")


def containerd(module, params, result, diffs):
    binary = module.get_bin_path("containerd")
    if not binary:
        return
    main_path, drop_in = params["containerd_config"], params["containerd_drop_in"]
    version, version_out = _version(module, binary)
    release = engine_config.containerd_major(version_out)
    main_data, main_before = _read(module, main_path, result)
    drop_data, drop_before = _read(module, drop_in, result)
    try:
        main_config = engine_config.toml_loads(main_before, main_path) if main_before.strip() else {}
        config_version = engine_config.config_version(main_config, release)
        covered = engine_config.drop_in_covered(main_path, main_before, drop_in, release=release)
        main_after = engine_config.containerd_main_config(main_before, drop_in, config_version, covered, main_path)
        order = engine_config.containerd_load_order(main_path, main_after, drop_in, release=release)
        imported = engine_config.imported_before_drop_in(order, drop_in, config_version, release)
        carried = engine_config.carried_cri(main_before, imported, config_version) if release < engine_config.MERGES_PLUGIN_KEYS else None
        drop_after = engine_config.containerd_drop_in(config_version, params["runtime_path"],
                                                      params["default_runtime"], params["cdi"], carried)
    except ConfigError as exc:
        module.fail_json(msg=str(exc), engines=result)
    pending = [(path, data, before, after) for path, data, before, after in
               ((drop_in, drop_data, drop_before, drop_after), (main_path, main_data, main_before, main_after))
               if data is None or before != after]
    result["containerd"].update(present=True, changed=bool(pending), version=version, files=[main_path, drop_in],
                                config_version=config_version)
    if not pending:
        return
    _check(module, [path for path, _data, _before, _after in pending], result)
    for path, _data, before, after in pending:
        diffs.append(dict(before=before, after=after, before_header=path, after_header=path))
    if module.check_mode:
        return
    written = []
    try:
        for path, data, _before, after in pending:
            atomic_file.write(path, after.encode("utf-8"), prepare=_selinux(module))
            written.append((path, data))
    except FileWriteError as exc:
        _restore(module, written)
        module.fail_json(msg="%s; the files written before it were put back" % exc, engines=result)
    # From /, containerd's working directory under systemd: 1.6 globs relative imports against it.
    rc, out, err = module.run_command([binary, "--config", main_path, "config", "dump"], cwd="/")
    try:
        found = engine_config.dumped_runtime(out, config_version) if rc == 0 else None
    except ConfigError:
        found = None
    if found != params["runtime_path"]:
        try:
            _restore(module, written)
        except FileWriteError as exc:
            module.fail_json(msg="containerd does not read the nvidia runtime from the new configuration, and "
                             "putting the old one back failed: %s" % exc, engines=result)
        module.fail_json(msg="containerd does not read the nvidia runtime from the new configuration, which was "
                         "put back as it was: %s" % ((err or out).strip()[-500:] or "runtime missing from config dump"),
                         engines=result)
    result["containerd"]["active"] = _active(module, "containerd")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engines=dict(type="list", elements="str", choices=["docker", "containerd"],
                         default=["docker", "containerd"]),
            runtime_path=dict(type="path", default="/usr/bin/nvidia-container-runtime"),
            default_runtime=dict(type="bool", default=False),
            cdi=dict(type="bool", default=False),
            docker_config=dict(type="path", default="/etc/docker/daemon.json"),
            containerd_config=dict(type="path", default="/etc/containerd/config.toml"),
            containerd_drop_in=dict(type="path", default="/etc/containerd/conf.d/99-nvidia.toml"),
        ),
        supports_check_mode=True,
    )
    diffs = []
    result = dict((engine, dict(present=False, changed=False, active=False, version=None, files=[]))
                  for engine in ("docker", "containerd"))
    for engine in module.params["engines"]:
        {"docker": docker, "containerd": containerd}[engine](module, module.params, result, diffs)
    present = [engine for engine in module.params["engines"] if result[engine]["present"]]
    changed = [engine for engine in present if result[engine]["changed"]]
    if not present:
        msg = "None of %s is installed: nothing to configure." % ", ".join(module.params["engines"])
    else:
        msg = "nvidia runtime %s for %s." % ("configured" if changed else "already configured",
                                             ", ".join(changed or present))
    module.exit_json(changed=bool(changed), engines=result, msg=msg, diff=diffs)


if __name__ == "__main__":
    main()
