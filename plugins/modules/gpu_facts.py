#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Probe NVIDIA GPUs, the driver and the installed CUDA/cuDNN stacks
version_added: 0.1.0
description:
  - Returns C(ansible_facts.gpu), what every role of the collection decides from.
  - Reads NVIDIA display and 3D controllers from sysfs (works before any driver is installed), the loaded
    kernel module and its flavour, the installed driver libraries, and per GPU what NVML reports (loaded with
    ctypes; C(nvidia-smi -q -x) is the fallback).
  - Detects the "Driver/library version mismatch" left by a driver upgrade, and a driver installed but not
    loaded.
  - Lists every CUDA toolkit folder C(<prefix>/cuda-X.Y) with its exact version, its cuDNN and whether the
    current driver supports it fully, only through minor-version compatibility, or not at all.
  - Changes nothing, and never fails on a host without GPUs or without a driver.
author:
  - dlops.gpu maintainers (@dlops)
options:
  toolkit_prefixes:
    description: Folders searched for C(cuda-X.Y) toolkits; the first also holds the C(cuda) default link.
    type: list
    elements: path
    default: [/usr/local]
  nvml:
    description: Ask NVML (through ctypes) for per-GPU details.
    type: bool
    default: true
  nvidia_smi:
    description: Fall back to C(nvidia-smi -q -x) when NVML cannot be loaded.
    type: bool
    default: true
  test_root:
    description:
      - For tests only. Probe a fake tree (sysfs, proc, libraries, toolkits) under this folder instead of C(/).
        NVML is not used; a file C(nvidia-smi-q-x.xml) in that folder stands in for C(nvidia-smi -q -x).
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Probe the GPU stack
  dlops.gpu.gpu_facts:

- name: Stop where a driver upgrade left a mismatch
  ansible.builtin.fail:
    msg: "{{ ansible_facts.gpu.driver.reason }}"
  when: ansible_facts.gpu.driver.mismatch
"""

RETURN = r"""
ansible_facts:
  description: Facts added under C(gpu).
  returned: always
  type: complex
  contains:
    gpu:
      description: The probe's findings.
      returned: always
      type: complex
      contains:
        present:
          description: Whether the host has at least one NVIDIA GPU (PCI or NVML).
          type: bool
        count:
          description: Number of NVIDIA GPUs seen (NVML when it answers, else PCI).
          type: int
        pci:
          description: NVIDIA display/3D PCI devices, each with C(bus_id), C(device_id), C(class) and the bound
            kernel C(driver) (nvidia, nouveau, vfio-pci, none).
          type: list
          elements: dict
        kernel:
          description: The loaded nvidia kernel module, C(loaded), C(version), C(flavour) (open, proprietary or
            None when only C(/sys/module/nvidia/version) was readable) and C(source).
          type: dict
        nouveau_loaded:
          description: Whether the nouveau module is loaded.
          type: bool
        userspace:
          description: The installed driver libraries, C(version) (behind libnvidia-ml.so.1, else libcuda.so.1),
            C(libnvidia_ml), C(libcuda) and C(libcuda_version).
          type: dict
        driver:
          description:
            - C(version) (the loaded module's, else NVML's, else the installed libraries'), C(branch),
              C(cuda_driver_version) (the highest CUDA the driver supports), C(mismatch), C(reason) and
              C(reboot_required) (a reboot or a reload of the nvidia modules).
          type: dict
        nvml:
          description: C(source) of per-GPU details (nvml, nvidia-smi or None) and the C(error) met, if any
            (C(code) 18 is the driver/library version mismatch).
          type: dict
        gpus:
          description:
            - Per GPU, C(index), C(name), C(uuid), C(pci_bus_id), C(memory_total_mib), C(memory_used_mib),
              C(compute_capability), C(architecture), C(persistence_mode), C(mig_mode) (enabled, disabled or None
              when unsupported), C(ecc_enabled) and C(processes) (the running compute processes, each with C(pid),
              C(name) and C(used_memory_mib)).
          type: list
          elements: dict
        busy:
          description: Whether any compute process runs on any GPU.
          type: bool
        toolkits:
          description:
            - Each C(<prefix>/cuda-X.Y) with C(path), C(series) (X.Y), C(version) (exact), C(version_source)
              (version.json, version.txt, nvcc, libcudart), C(nvcc) (present), C(cudnn) (C(version), C(source))
              or None, C(min_driver) and C(driver_support) (full, minor-compat, unsupported; None with no driver).
          type: list
          elements: dict
        cuda_default:
          description: The C(cuda) link in the first prefix, C(path), C(exists), C(target), C(resolved),
            C(series) and C(alternatives) (whether update-alternatives owns it).
          type: dict
        cudnn_system:
          description: cuDNN installed system-wide (C(version), C(source)), or None.
          type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions, gpu_probe
from ansible_collections.dlops.gpu.plugins.module_utils.nvidia_smi import parse_nvidia_smi_xml


def gpu_details(module, root):
    """Per-GPU details from NVML, else nvidia-smi. Returns (data or None, source, error)."""
    error = None
    if root != "/":
        fake = os.path.join(root, "nvidia-smi-q-x.xml")
        if os.path.exists(fake):
            with open(fake, "rb") as handle:
                return parse_nvidia_smi_xml(handle.read()), "nvidia-smi", None
        return None, None, None
    if module.params["nvml"]:
        try:
            return gpu_probe.nvml_probe(), "nvml", None
        except gpu_probe.NvmlError as exc:
            error = {"code": exc.code, "message": str(exc)}
            if exc.code is not None:
                return None, None, error  # NVML is there but refuses: nvidia-smi would say the same
    smi = module.get_bin_path("nvidia-smi") if module.params["nvidia_smi"] else None
    if smi:
        rc, out, err = module.run_command([smi, "-q", "-x"])
        if rc == 0:
            try:
                return parse_nvidia_smi_xml(out), "nvidia-smi", error
            except (ValueError, SyntaxError) as exc:
                error = {"code": None, "message": "nvidia-smi -q -x output not parsed: %s" % exc}
        else:
            error = {"code": None, "message": (out or err).strip()}
    return None, None, error


def probe(module):
    root = module.params["test_root"] or "/"
    prefixes = module.params["toolkit_prefixes"]
    pci = gpu_probe.pci_devices(root)
    kernel = gpu_probe.kernel_module(root)
    user = gpu_probe.userspace(root)
    state = gpu_probe.driver_state(pci, kernel, user)
    details, source, error = (None, None, None)
    if pci or kernel["loaded"] or root != "/":
        details, source, error = gpu_details(module, root)
    if error and error.get("code") == gpu_probe.NVML_ERROR_LIB_RM_VERSION_MISMATCH and not state["mismatch"]:
        state.update(mismatch=True, reboot_required=True,
                     reason="NVML reports a driver/library version mismatch: reload the nvidia modules or reboot")

    gpus = details["gpus"] if details else []
    for gpu in gpus:
        gpu.setdefault("compute_capability", None)
        if not gpu.get("architecture"):
            gpu["architecture"] = cuda_versions.architecture(gpu["compute_capability"])
    version = kernel["version"] or (details or {}).get("driver_version") or user["version"]
    driver = {
        "version": version,
        "branch": version.split(".")[0] if version else None,
        "cuda_driver_version": (details or {}).get("cuda_driver_version"),
        "mismatch": state["mismatch"],
        "reason": state["reason"],
        "reboot_required": state["reboot_required"],
    }
    support_driver = kernel["version"] or (details or {}).get("driver_version")

    def run(cmd):
        rc, out, _err = module.run_command(cmd)
        return rc, out

    return {
        "present": bool(pci or gpus),
        "count": len(gpus) if gpus else len(pci),
        "pci": pci,
        "kernel": kernel,
        "nouveau_loaded": gpu_probe.module_loaded("nouveau", root),
        "userspace": user,
        "driver": driver,
        "nvml": {"source": source, "error": error},
        "gpus": gpus,
        "busy": any(gpu.get("processes") for gpu in gpus),
        "toolkits": gpu_probe.toolkits(prefixes, root, run, support_driver),
        "cuda_default": gpu_probe.default_link(prefixes[0], root),
        "cudnn_system": gpu_probe.system_cudnn(root),
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            toolkit_prefixes=dict(type="list", elements="path", default=["/usr/local"]),
            nvml=dict(type="bool", default=True),
            nvidia_smi=dict(type="bool", default=True),
            test_root=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts={"gpu": probe(module)})


if __name__ == "__main__":
    main()
