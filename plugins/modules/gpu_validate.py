#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_validate
short_description: Prove a GPU host works - driver, GPUs, every CUDA toolkit, cuDNN, PyTorch throughput
version_added: 0.1.0
description:
  - Probes the host as M(dlops.gpu.gpu_facts) does, then checks that the driver answers with no driver/library
    mismatch, that the GPUs expected are visible (count and model) and that persistence mode is as configured.
  - Every CUDA toolkit under the prefixes - where it has nvcc and the host has a GPU, a vector addition is compiled
    with that nvcc and run, and every sum checked; otherwise its libcudart is loaded and asked for its version (and
    the GPU count, with a GPU).
  - cuDNN in each toolkit and the system's - the library is loaded and its version compared with its header's.
  - Where the given interpreter has PyTorch and a GPU - a matrix multiplication (4096x4096 after a warm-up, timed
    over 100 products, synchronised) reports TFLOP/s, failing below the floor set for the GPU's model.
  - Each library is loaded in a fresh interpreter, so toolkits sharing a soname never share a process.
  - Returns the results as C(ansible_facts.gpu_validation) and never fails itself; the role decides. On hosts
    without a GPU the status is C(no_gpu) and only the toolkits' runtimes and cuDNN are loaded, unless
    O(expected_count) says GPUs should be there.
author:
  - dlops.gpu maintainers (@dlops)
options:
  expected_count:
    description: The number of GPUs the host must show; unset skips the check.
    type: int
  expected_model:
    description: A part of every GPU's name (C(H100)); unset skips the check.
    type: str
  persistence:
    description: Persistence mode every GPU must be in; unset skips the check.
    type: bool
  prefixes:
    description: Folders holding the C(cuda-X.Y) toolkits.
    type: list
    elements: path
    default: [/usr/local]
  python:
    description: The interpreter whose PyTorch runs the matrix multiplication; empty skips it.
    type: str
    default: python3
  matmul_size:
    description: The matrices' side.
    type: int
    default: 4096
  matmul_iterations:
    description: Products timed after the warm-up.
    type: int
    default: 100
  matmul_dtype:
    description: The matrices' torch dtype.
    type: str
    choices: [float32, float16, bfloat16]
    default: float32
  tflops_floor:
    description:
      - Minimum TFLOP/s per GPU model, keyed by a part of its name (the longest match wins), for example
        C(H100) with 40.
    type: dict
    default: {}
  timeout:
    description: Seconds any one compile or program may take.
    type: int
    default: 300
  record:
    description:
      - Where to keep the result, with the time, these options and a digest of the GPU stack validated
        (driver, GPUs, toolkits, cuDNN); C(dlops.gpu.gpu_facts) reads it back as C(validation) and says whether
        the stack is still the one validated. Not written in check mode. Empty keeps nothing.
    type: path
    default: /var/lib/dlops-gpu/validation.json
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes.read_only
"""

EXAMPLES = r"""
- name: Validate an 8-GPU H100 node
  dlops.gpu.gpu_validate:
    expected_count: 8
    expected_model: H100
    persistence: true
    tflops_floor:
      H100: 40

- name: Fail the host on any failed check
  ansible.builtin.assert:
    that: ansible_facts.gpu_validation.status != 'failed'
    fail_msg: "{{ ansible_facts.gpu_validation.failed | join('; ') }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    gpu_validation:
      description: The validation.
      type: dict
      contains:
        status:
          description: C(ok), C(failed), or C(no_gpu) (nothing failed, no GPU to run on).
          type: str
        failed:
          description: The name and the detail of every failed check, joined by a colon.
          type: list
          elements: str
        checks:
          description: Every check - C(name), C(ok) (true, false, or null when it did not apply) and C(detail).
          type: list
          elements: dict
        matmul_tflops:
          description: The PyTorch matrix multiplication's TFLOP/s, or null.
          type: float
"""

import glob
import os
import shutil
import sys
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import gpu_probe, validate

# The options a kept result was made with; the gpu_validate role re-validates when they differ.
OPTIONS = ("expected_count", "expected_model", "persistence", "python", "matmul_size", "matmul_iterations",
           "matmul_dtype", "tflops_floor")


def _library(folders, stem):
    """The library's soname link (libcudart.so.12 before libcudart.so.12.8.90), or None."""
    found = []
    for folder in folders:
        found.extend(glob.glob(os.path.join(folder, stem + ".so.*")))
    return sorted(found, key=len)[0] if found else None


class Runner(object):
    """Commands under coreutils' timeout where the host has it."""

    def __init__(self, module):
        self.module = module
        timeout = module.get_bin_path("timeout")
        self.prefix = [timeout, str(module.params["timeout"])] if timeout else []

    def run(self, argv, env=None, cwd=None):
        return self.module.run_command(self.prefix + argv, environ_update=env or {}, cwd=cwd)

    def python(self, code, args, env=None, interpreter=None):
        rc, out, err = self.run([interpreter or sys.executable, "-c", code] + [str(a) for a in args], env)
        result = validate.last_json(out)
        if result is None:
            result = {"error": (err or out).strip()[-400:] or "exit status %d" % rc}
        return result


def compile_and_run(runner, toolkit, gpu):
    work = tempfile.mkdtemp(prefix="dlops-validate-")
    try:
        source = os.path.join(work, "add.cu")
        with open(source, "w") as handle:
            handle.write(validate.VECTOR_ADD_CU)
        argv = [os.path.join(toolkit["path"], "bin", "nvcc"), "-o", os.path.join(work, "add"), source]
        capability = (gpu["gpus"][0].get("compute_capability") or "") if gpu.get("gpus") else ""
        if capability:
            argv.insert(1, "-arch=sm_%s" % capability.replace(".", ""))
        rc, out, err = runner.run(argv, cwd=work)
        if rc != 0:
            return {"error": "nvcc failed: %s" % (err or out).strip()[-400:]}
        lib = os.path.join(toolkit["path"], "lib64")
        rc, out, err = runner.run([os.path.join(work, "add")], env={"LD_LIBRARY_PATH": lib}, cwd=work)
        return validate.last_json(out) or {"error": (err or out).strip()[-400:] or "exit status %d" % rc}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            expected_count=dict(type="int"),
            expected_model=dict(type="str"),
            persistence=dict(type="bool"),
            prefixes=dict(type="list", elements="path", default=["/usr/local"]),
            python=dict(type="str", default="python3"),
            matmul_size=dict(type="int", default=4096),
            matmul_iterations=dict(type="int", default=100),
            matmul_dtype=dict(type="str", choices=["float32", "float16", "bfloat16"], default="float32"),
            tflops_floor=dict(type="dict", default={}),
            timeout=dict(type="int", default=300),
            record=dict(type="path", default=validate.RECORD),
        ),
        supports_check_mode=True,
    )
    params = module.params
    runner = Runner(module)
    gpu = gpu_probe.probe_host(prefixes=tuple(params["prefixes"]), run=module.run_command)
    present = gpu["present"]
    count = len(gpu["gpus"]) if present else 0
    checks = []
    if present:
        checks.extend(validate.driver_checks(gpu, params["expected_count"], params["expected_model"],
                                             params["persistence"]))
    elif params["expected_count"]:
        # A host expected to have GPUs that shows none has lost them (off the bus, no driver): that fails.
        checks.append(validate.check("GPU count", False, "no NVIDIA GPU visible, %d expected" % params["expected_count"]))
    else:
        checks.append(validate.check("GPU", None, "no NVIDIA GPU on this host: nothing to run on a GPU"))
    for toolkit in gpu["toolkits"]:
        folders = [os.path.join(toolkit["path"], "lib64"), os.path.join(toolkit["path"], "lib")]
        if toolkit["nvcc"] and count:
            checks.append(validate.toolkit_check(toolkit, compiled=compile_and_run(runner, toolkit, gpu),
                                                 gpu_count=count))
        else:
            lib = _library(folders, "libcudart")
            loaded = runner.python(validate.CUDART_PROBE, [lib, 1 if count else 0]) if lib else \
                {"error": "no libcudart in %s" % toolkit["path"]}
            checks.append(validate.toolkit_check(toolkit, loaded=loaded, gpu_count=count))
        if toolkit.get("cudnn"):
            lib = _library(folders, "libcudnn")
            loaded = runner.python(validate.CUDNN_PROBE, [lib], env={"LD_LIBRARY_PATH": os.path.dirname(lib)}) \
                if lib else {"error": "no libcudnn in %s" % toolkit["path"]}
            checks.append(validate.cudnn_check(toolkit["path"], toolkit["cudnn"]["version"], loaded))
    if gpu.get("cudnn_system"):
        lib = _library(gpu_probe.lib_dirs()[:2], "libcudnn")
        loaded = runner.python(validate.CUDNN_PROBE, [lib]) if lib else {"error": "no libcudnn in the system's folders"}
        checks.append(validate.cudnn_check("the system", gpu["cudnn_system"]["version"], loaded))
    matmul = None
    if params["python"] and count:
        interpreter = module.get_bin_path(params["python"])
        if interpreter:
            matmul = runner.python(validate.MATMUL_PY, [params["matmul_size"], params["matmul_iterations"],
                                                        params["matmul_dtype"]], interpreter=interpreter)
        checks.append(validate.matmul_check(matmul, [g.get("name") or "" for g in gpu["gpus"]],
                                            params["tflops_floor"], params["python"]))
    result = validate.summary(checks, present)
    result.update(checks=checks, matmul_tflops=(matmul or {}).get("tflops"))
    if params["record"] and not module.check_mode:
        options = dict((key, params[key]) for key in OPTIONS)
        try:
            validate.write_record(params["record"], validate.record(result, gpu, options, time.time()))
        except (IOError, OSError) as exc:
            module.warn("cannot keep the result in %s: %s" % (params["record"], exc))
    module.exit_json(changed=False, ansible_facts={"gpu_validation": result})


if __name__ == "__main__":
    main()
