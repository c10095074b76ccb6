# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse `nvidia-smi -q -x` output (DTD v11 to v13, and older files without a DOCTYPE)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

_UNKNOWN = ("", "n/a", "none", "not supported", "[not supported]", "unknown error", "[unknown error]",
            "insufficient permissions", "[insufficient permissions]", "requested functionality has been deprecated")
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B)?\s*$", re.IGNORECASE)
_MIB = {None: 1.0, "kib": 1.0 / 1024, "kb": 1.0 / 1024, "mib": 1.0, "mb": 1.0, "gib": 1024.0, "gb": 1024.0,
        "tib": 1024.0 * 1024, "tb": 1024.0 * 1024}


def _text(node, path):
    """Stripped text at path, or None when missing or a 'N/A'-like placeholder."""
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    if value.lower() in _UNKNOWN:
        return None
    return value


def _mib(value):
    """'24564 MiB' -> 24564; '80 GiB' -> 81920; None stays None."""
    if value is None:
        return None
    match = _SIZE_RE.match(value)
    if not match:
        return None
    number = float(match.group(1))
    unit = match.group(2).lower() if match.group(2) else None
    return int(round(number * _MIB.get(unit, 1.0)))


def _flag(value, yes=("enabled", "enable", "on", "yes"), no=("disabled", "disable", "off", "no")):
    if value is None:
        return None
    low = value.lower()
    if low in yes:
        return True
    if low in no:
        return False
    return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _processes(gpu):
    processes = []
    container = gpu.find("processes")
    if container is None:
        return processes
    for info in container.findall("process_info"):
        pid = _int(_text(info, "pid"))
        if pid is None:
            continue
        processes.append({
            "pid": pid,
            "name": _text(info, "process_name") or "",
            "type": _text(info, "type"),
            "used_memory_mib": _mib(_text(info, "used_memory")),
            "gpu_instance_id": _int(_text(info, "gpu_instance_id")),
            "compute_instance_id": _int(_text(info, "compute_instance_id")),
        })
    return processes


def _mig_mode(gpu):
    current = _text(gpu, "mig_mode/current_mig")
    if current is None:
        return None
    low = current.lower()
    return low if low in ("enabled", "disabled") else None


def _mig_devices(gpu):
    devices = []
    container = gpu.find("mig_devices")
    if container is None:
        return devices
    for dev in container.findall("mig_device"):
        devices.append({
            "index": _int(_text(dev, "index")),
            "gpu_instance_id": _int(_text(dev, "gpu_instance_id")),
            "compute_instance_id": _int(_text(dev, "compute_instance_id")),
            "memory_total_mib": _mib(_text(dev, "fb_memory_usage/total")),
        })
    return devices


def parse_nvidia_smi_xml(text):
    """Parse the XML of `nvidia-smi -q -x`.

    Returns {"driver_version", "cuda_driver_version", "attached_gpus", "gpus"}; each GPU has index (order in
    the file), name, uuid, pci_bus_id, memory_total_mib, memory_used_mib, persistence_mode, mig_mode,
    mig_devices, ecc_enabled, architecture, minor_number, processes (pid, name, used_memory_mib...).
    """
    if isinstance(text, bytes):
        root = ET.fromstring(text)
    else:
        # ElementTree refuses a str that declares an encoding; bytes carry it fine.
        root = ET.fromstring(text.encode("utf-8"))
    if root.tag != "nvidia_smi_log":
        raise ValueError("not nvidia-smi -q -x output: root element is <%s>" % root.tag)
    gpus = []
    for index, gpu in enumerate(root.findall("gpu")):
        pci_bus_id = _text(gpu, "pci/pci_bus_id") or gpu.get("id")
        gpus.append({
            "index": index,
            "name": _text(gpu, "product_name") or "",
            "uuid": _text(gpu, "uuid") or "",
            "pci_bus_id": pci_bus_id or "",
            "pci_device_id": _text(gpu, "pci/pci_device_id"),
            "minor_number": _int(_text(gpu, "minor_number")),
            "architecture": _text(gpu, "product_architecture"),
            "memory_total_mib": _mib(_text(gpu, "fb_memory_usage/total")),
            "memory_used_mib": _mib(_text(gpu, "fb_memory_usage/used")),
            "persistence_mode": _flag(_text(gpu, "persistence_mode")),
            "mig_mode": _mig_mode(gpu),
            "mig_devices": _mig_devices(gpu),
            "ecc_enabled": _flag(_text(gpu, "ecc_mode/current_ecc")),
            "vbios_version": _text(gpu, "vbios_version"),
            "processes": _processes(gpu),
        })
    attached = _int(_text(root, "attached_gpus"))
    return {
        "driver_version": _text(root, "driver_version") or "",
        "cuda_driver_version": _text(root, "cuda_version"),
        "attached_gpus": attached if attached is not None else len(gpus),
        "gpus": gpus,
    }
