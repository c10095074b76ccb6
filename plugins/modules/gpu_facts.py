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
  validation_record:
    description: Where C(dlops.gpu.gpu_validate) keeps its last result, read back as C(validation).
    type: path
    default: /var/lib/dlops-gpu/validation.json
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
  - dlops.gpu.attributes.read_only
attributes:
  facts:
    support: full
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
        machine:
          description: The CPU architecture (C(x86_64), C(aarch64)); it picks the redist platform.
          type: str
        system:
          description:
            - The system, with the names Ansible's own facts use for the fields the roles read, so that they need no
              C(setup) run (values may differ in detail - Debian's version is C(12), not C(12.7); a RHEL family
              host's C(distribution_release) is empty) -
              C(distribution) (Ubuntu, Debian, RedHat, Rocky...), C(os_family) (Debian, RedHat, Suse),
              C(distribution_version), C(distribution_major_version), C(distribution_release) (the codename,
              noble, bookworm; empty where C(/etc/os-release) gives none), C(kernel) (the running kernel's
              release), C(architecture) (uname's machine) and C(package_architecture) (the package manager's
              name for it, amd64 on Debian, x86_64 on RedHat).
            - Read from C(/etc/os-release) and uname, always of the host itself, also with I(test_root).
          type: dict
        toolkits:
          description:
            - Each C(<prefix>/cuda-X.Y) with C(path), C(series) (X.Y), C(version) (exact), C(version_source)
              (version.json, version.txt, nvcc, libcudart), C(managed) (whether this collection installed it, as its
              version.json has a C(dlops_gpu) key), C(components) (component to version, from version.json),
              C(nvcc) (present), C(cudnn) (C(version), C(source)) or None, C(min_driver) and C(driver_support)
              (full, minor-compat, unsupported; None with no driver).
          type: list
          elements: dict
        cuda_default:
          description: The C(cuda) link in the first prefix, C(path), C(exists), C(target), C(resolved),
            C(series), C(major_series) (where C(cuda-X) leads), C(alternatives) (whether update-alternatives owns it)
            and C(alternatives_manual) (it holds C(cuda), and C(cuda-X) where that is an alternative too, in manual
            mode at that toolkit, as a switch leaves them).
          type: dict
        cudnn_system:
          description: cuDNN installed system-wide (C(version), C(source)), or None.
          type: dict
        cdi:
          description:
            - The NVIDIA CDI spec (C(spec), its path, or None) and the driver version it was generated for
              (C(driver_version)); a spec for another driver than the loaded one needs regenerating.
          type: dict
        validation:
          description:
            - The last result C(dlops.gpu.gpu_validate) kept (C(status), C(failed), C(checks), C(matmul_tflops),
              C(time), C(options)), with C(current) - whether the GPU stack is still the one it validated (same
              driver, GPUs and their modes, toolkits, cuDNN). None when there is none.
          type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dlops.gpu.plugins.module_utils import gpu_probe, validate


def main():
    module = AnsibleModule(
        argument_spec=dict(
            toolkit_prefixes=dict(type="list", elements="path", default=["/usr/local"]),
            nvml=dict(type="bool", default=True),
            nvidia_smi=dict(type="bool", default=True),
            test_root=dict(type="path"),
            validation_record=dict(type="path", default=validate.RECORD),
        ),
        supports_check_mode=True,
    )
    params = module.params
    facts = gpu_probe.probe_host(
        root=params["test_root"] or "/",
        prefixes=params["toolkit_prefixes"],
        nvml=params["nvml"],
        nvidia_smi=module.get_bin_path("nvidia-smi") if params["nvidia_smi"] else None,
        run=module.run_command,
    )
    facts["validation"] = validate.read_record(
        os.path.join(params["test_root"] or "/", params["validation_record"].lstrip("/")), facts)
    module.exit_json(changed=False, ansible_facts={"gpu": facts})


if __name__ == "__main__":
    main()
