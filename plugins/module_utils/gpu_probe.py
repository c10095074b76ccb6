# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only probes of a host's NVIDIA stack, standard library only.

Every filesystem path is taken under ``root`` so that tests can point the
probes at a fake sysfs/proc/usr tree. NVML is reached through ctypes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import glob
import json
import os
import re
import subprocess

from ansible_collections.dlops.gpu.plugins.module_utils import cuda_switch
from ansible_collections.dlops.gpu.plugins.module_utils import cuda_versions
from ansible_collections.dlops.gpu.plugins.module_utils import machines
from ansible_collections.dlops.gpu.plugins.module_utils.nvidia_smi import parse_nvidia_smi_xml

NVIDIA_VENDOR = "0x10de"
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_NOT_SUPPORTED = 3
NVML_VALUE_NOT_AVAILABLE = (1 << 64) - 1
_NVRM_RE = re.compile(r"NVRM version:\s*(.*?)\s+([0-9]+\.[0-9]+(?:\.[0-9]+)?)\s")
_LIB_VERSION_RE = re.compile(r"\.so\.([0-9]+\.[0-9]+(?:\.[0-9]+)?)$")
_CUDA_DIR_RE = re.compile(r"^cuda-([0-9]+)\.([0-9]+)$")
_NVCC_RE = re.compile(r"release ([0-9]+\.[0-9]+), V([0-9.]+)")


def _path(root, path):
    return os.path.join(root, path.lstrip("/")) if root and root != "/" else path


def realpath_in(root, path):
    """os.path.realpath, with absolute link targets taken under ``root``."""
    if not root or root == "/":
        return os.path.realpath(path)
    for _hop in range(40):
        if not os.path.islink(path):
            break
        target = os.readlink(path)
        path = _path(root, target) if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)
        path = os.path.normpath(path)
    return path


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def lib_dirs(root="/"):
    """Directories where distributions put the driver's libraries."""
    triplet = machines.names(os.uname().machine)["triplet"]
    dirs = ["/usr/lib/%s" % triplet, "/lib/%s" % triplet, "/usr/lib64", "/lib64", "/usr/lib",
            "/usr/lib/%s/nvidia/current" % triplet, "/usr/local/nvidia/lib64"]
    return [_path(root, d) for d in dirs]


# PCI ---------------------------------------------------------------------

def pci_devices(root="/"):
    """NVIDIA display and 3D controllers from sysfs; works with no driver."""
    devices = []
    for dev in sorted(glob.glob(_path(root, "/sys/bus/pci/devices/*"))):
        if (_read(os.path.join(dev, "vendor")) or "").strip().lower() != NVIDIA_VENDOR:
            continue
        pci_class = (_read(os.path.join(dev, "class")) or "").strip().lower()
        if not pci_class.startswith("0x03"):
            continue  # audio, USB and bridges on the same card
        driver_link = os.path.join(dev, "driver")
        driver = os.path.basename(os.readlink(driver_link)) if os.path.islink(driver_link) else "none"
        devices.append({
            "bus_id": os.path.basename(dev),
            "device_id": (_read(os.path.join(dev, "device")) or "").strip().lower(),
            "class": pci_class,
            "driver": driver,
        })
    return devices


# Kernel ------------------------------------------------------------------

def kernel_module(root="/"):
    """The loaded nvidia module: version and flavour (open or proprietary)."""
    text = _read(_path(root, "/proc/driver/nvidia/version"))
    info = {"loaded": False, "version": None, "flavour": None, "source": None}
    if text:
        match = _NVRM_RE.search(text)
        if match:
            info.update(loaded=True, version=match.group(2), source="/proc/driver/nvidia/version",
                        flavour="open" if "Open Kernel Module" in match.group(1) else "proprietary")
            return info
    version = _read(_path(root, "/sys/module/nvidia/version"))
    if version:
        info.update(loaded=True, version=version.strip(), source="/sys/module/nvidia/version")
    return info


def module_loaded(name, root="/"):
    if os.path.isdir(_path(root, "/sys/module/%s" % name)):
        # /sys/module/X exists for built-in parameters too; a loaded module has initstate or refcnt.
        return os.path.exists(_path(root, "/sys/module/%s/initstate" % name)) or \
            os.path.exists(_path(root, "/sys/module/%s/refcnt" % name))
    modules = _read(_path(root, "/proc/modules")) or ""
    return any(line.split(" ", 1)[0] == name for line in modules.splitlines())


# Userspace ---------------------------------------------------------------

def library_version(soname, root="/"):
    """(version, real path) of the file behind a driver library's soname."""
    for directory in lib_dirs(root):
        candidate = os.path.join(directory, soname)
        if os.path.exists(candidate):
            real = realpath_in(root, candidate)
            match = _LIB_VERSION_RE.search(real)
            if match:
                return match.group(1), _shown(root, real)
    return None, None


def userspace(root="/"):
    nvml_version, nvml_path = library_version("libnvidia-ml.so.1", root)
    cuda_version, cuda_path = library_version("libcuda.so.1", root)
    return {
        "version": nvml_version or cuda_version,
        "libnvidia_ml": nvml_path,
        "libcuda": cuda_path,
        "libcuda_version": cuda_version,
    }


def driver_state(pci, kernel, user):
    """Mismatch and reboot/reload needs from what the other probes saw."""
    state = {"mismatch": False, "reason": None, "reboot_required": False}
    if kernel["version"] and user["version"] and kernel["version"] != user["version"]:
        state.update(mismatch=True, reboot_required=True, reason=(
            "loaded kernel module is %s but the installed libraries are %s: reload the nvidia modules "
            "or reboot" % (kernel["version"], user["version"])))
    elif pci and user["version"] and not kernel["loaded"]:
        state.update(reboot_required=True, reason=(
            "driver %s is installed but its kernel module is not loaded (GPUs bound to: %s): load it or reboot"
            % (user["version"], ", ".join(sorted({d["driver"] for d in pci})))))
    return state


# NVML --------------------------------------------------------------------

class _PciInfo(ctypes.Structure):
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", ctypes.c_uint), ("bus", ctypes.c_uint),
                ("device", ctypes.c_uint), ("pciDeviceId", ctypes.c_uint), ("pciSubSystemId", ctypes.c_uint),
                ("busId", ctypes.c_char * 32)]


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class _ProcessInfo(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint), ("usedGpuMemory", ctypes.c_ulonglong),
                ("gpuInstanceId", ctypes.c_uint), ("computeInstanceId", ctypes.c_uint)]


class NvmlError(Exception):
    def __init__(self, code, message):
        super(NvmlError, self).__init__(message)
        self.code = code


def _process_name(lib, pid):
    buf = ctypes.create_string_buffer(256)
    if lib.nvmlSystemGetProcessName(ctypes.c_uint(pid), buf, ctypes.c_uint(256)) == 0 and buf.value:
        return buf.value.decode("utf-8", "replace")
    comm = _read("/proc/%d/comm" % pid)
    return comm.strip() if comm else ""


def nvml_probe(library="libnvidia-ml.so.1"):
    """Ask NVML for the driver and each GPU. Raises NvmlError when NVML cannot start."""
    try:
        lib = ctypes.CDLL(library)
    except OSError as exc:
        raise NvmlError(None, "NVML library not loadable: %s" % exc)

    def call(name, *args):
        return getattr(lib, name)(*args)

    init = getattr(lib, "nvmlInit_v2", None) or lib.nvmlInit
    code = init()
    if code != 0:
        lib.nvmlErrorString.restype = ctypes.c_char_p
        raise NvmlError(code, "NVML init failed: %s" % lib.nvmlErrorString(code).decode())
    try:
        buf = ctypes.create_string_buffer(96)
        call("nvmlSystemGetDriverVersion", buf, ctypes.c_uint(96))
        driver = buf.value.decode()
        cuda = ctypes.c_int()
        cuda_driver = None
        if call("nvmlSystemGetCudaDriverVersion_v2", ctypes.byref(cuda)) == 0:
            cuda_driver = cuda_versions.cuda_from_driver_api(cuda.value)
        count = ctypes.c_uint()
        call("nvmlDeviceGetCount_v2", ctypes.byref(count))
        gpus = []
        for index in range(count.value):
            handle = ctypes.c_void_p()
            if call("nvmlDeviceGetHandleByIndex_v2", ctypes.c_uint(index), ctypes.byref(handle)) != 0:
                continue
            gpus.append(_nvml_gpu(lib, call, index, handle))
        return {"driver_version": driver, "cuda_driver_version": cuda_driver, "attached_gpus": count.value,
                "gpus": gpus}
    finally:
        lib.nvmlShutdown()


def _nvml_gpu(lib, call, index, handle):
    name = ctypes.create_string_buffer(96)
    call("nvmlDeviceGetName", handle, name, ctypes.c_uint(96))
    uuid = ctypes.create_string_buffer(96)
    call("nvmlDeviceGetUUID", handle, uuid, ctypes.c_uint(96))
    pci = _PciInfo()
    pci_fn = "nvmlDeviceGetPciInfo_v3" if hasattr(lib, "nvmlDeviceGetPciInfo_v3") else "nvmlDeviceGetPciInfo_v2"
    call(pci_fn, handle, ctypes.byref(pci))
    mem = _Memory()
    memory_ok = call("nvmlDeviceGetMemoryInfo", handle, ctypes.byref(mem)) == 0
    major, minor = ctypes.c_int(), ctypes.c_int()
    cc = None
    if call("nvmlDeviceGetCudaComputeCapability", handle, ctypes.byref(major), ctypes.byref(minor)) == 0:
        cc = "%d.%d" % (major.value, minor.value)
    arch = ctypes.c_uint()
    nvml_arch = arch.value if hasattr(lib, "nvmlDeviceGetArchitecture") and \
        call("nvmlDeviceGetArchitecture", handle, ctypes.byref(arch)) == 0 else None
    persistence = ctypes.c_int()
    persistence_mode = bool(persistence.value) if call(
        "nvmlDeviceGetPersistenceMode", handle, ctypes.byref(persistence)) == 0 else None
    current, pending = ctypes.c_uint(), ctypes.c_uint()
    mig_mode = None
    if hasattr(lib, "nvmlDeviceGetMigMode") and call(
            "nvmlDeviceGetMigMode", handle, ctypes.byref(current), ctypes.byref(pending)) == 0:
        mig_mode = "enabled" if current.value == 1 else "disabled"
    ecc_cur, ecc_pend = ctypes.c_int(), ctypes.c_int()
    ecc = bool(ecc_cur.value) if call(
        "nvmlDeviceGetEccMode", handle, ctypes.byref(ecc_cur), ctypes.byref(ecc_pend)) == 0 else None
    return {
        "index": index,
        "name": name.value.decode(),
        "uuid": uuid.value.decode(),
        "pci_bus_id": pci.busId.decode() or pci.busIdLegacy.decode(),
        "pci_device_id": "0x%08X" % pci.pciDeviceId,
        "memory_total_mib": int(mem.total // (1024 * 1024)) if memory_ok else None,
        "memory_used_mib": int(mem.used // (1024 * 1024)) if memory_ok else None,
        "compute_capability": cc,
        "architecture": cuda_versions.architecture(cc, nvml_arch),
        "persistence_mode": persistence_mode,
        "mig_mode": mig_mode,
        "ecc_enabled": ecc,
        "processes": _nvml_processes(lib, call, handle),
    }


def _nvml_processes(lib, call, handle):
    for fn in ("nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"):
        if hasattr(lib, fn):
            break
    else:
        return []
    size = 64
    while True:
        infos = (_ProcessInfo * size)()
        count = ctypes.c_uint(size)
        code = call(fn, handle, ctypes.byref(count), infos)
        if code == 7 and size < 4096:  # NVML_ERROR_INSUFFICIENT_SIZE
            size *= 4
            continue
        if code != 0:
            return []
        break
    processes = []
    for info in infos[:count.value]:
        used = info.usedGpuMemory
        processes.append({
            "pid": int(info.pid),
            "name": _process_name(lib, info.pid),
            "used_memory_mib": None if used == NVML_VALUE_NOT_AVAILABLE else int(used // (1024 * 1024)),
        })
    return processes


# CUDA toolkits and cuDNN -------------------------------------------------

def _record(path):
    """version.json of a toolkit folder as a dict ({} when absent or unreadable)."""
    try:
        parsed = json.loads(_read(os.path.join(path, "version.json")) or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def toolkit_version(path, run=None):
    """Exact version of a toolkit folder: version.json, else version.txt, nvcc, libcudart."""
    version = (_record(path).get("cuda") or {}).get("version")
    if version:
        return version, "version.json"
    text = _read(os.path.join(path, "version.txt"))
    if text:
        match = re.search(r"CUDA Version\s+([0-9.]+)", text)
        if match:
            return match.group(1), "version.txt"
    nvcc = os.path.join(path, "bin", "nvcc")
    if run and os.access(nvcc, os.X_OK):
        rc, out, _err = run([nvcc, "--version"])
        match = _NVCC_RE.search(out or "") if rc == 0 else None
        if match:
            return match.group(2), "nvcc"
    for lib in sorted(glob.glob(os.path.join(path, "lib64", "libcudart.so.*.*")) +
                      glob.glob(os.path.join(path, "lib", "libcudart.so.*.*"))):
        match = _LIB_VERSION_RE.search(os.path.realpath(lib))
        if match:
            return match.group(1), "libcudart"
    return None, None


def cudnn_version_from_header(text):
    values = {}
    for key in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"):
        match = re.search(r"#define\s+%s\s+([0-9]+)" % key, text or "")
        if not match:
            return None
        values[key] = match.group(1)
    return "%s.%s.%s" % (values["CUDNN_MAJOR"], values["CUDNN_MINOR"], values["CUDNN_PATCHLEVEL"])


def cudnn_in(include_dirs, lib_dirs_):
    """cuDNN found through its version header, else its library's file name."""
    for directory in include_dirs:
        for header in ("cudnn_version.h", "cudnn_version_v9.h", "cudnn_version_v8.h", "cudnn.h"):
            path = os.path.join(directory, header)
            version = cudnn_version_from_header(_read(path))
            if version:
                return {"version": version, "source": path}
    for directory in lib_dirs_:
        libs = sorted(glob.glob(os.path.join(directory, "libcudnn.so.*")),
                      key=lambda p: cuda_versions.version_tuple(p.rsplit(".so.", 1)[-1]))
        for lib in reversed(libs):
            match = _LIB_VERSION_RE.search(os.path.realpath(lib))
            if match and match.group(1).count(".") == 2:
                return {"version": match.group(1), "source": lib}
    return None


def _shown(root, path):
    return path[len(root.rstrip("/")):] if root not in ("", "/") and path.startswith(root.rstrip("/")) else path


def toolkits(prefixes=("/usr/local",), root="/", run=None, driver=None):
    """Every <prefix>/cuda-X.Y with version, cuDNN and driver support."""
    found = []
    for prefix in prefixes:
        base = _path(root, prefix)
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            match = _CUDA_DIR_RE.match(name)
            path = os.path.join(base, name)
            if not match or not os.path.isdir(path) or os.path.islink(path):
                continue
            version, source = toolkit_version(path, run)
            cudnn = cudnn_in([os.path.join(path, "include")],
                             [os.path.join(path, "lib64"), os.path.join(path, "lib")])
            if cudnn:
                cudnn["source"] = _shown(root, cudnn["source"])
            record = _record(path)
            entry = {
                "path": os.path.join(prefix, name),
                "series": "%s.%s" % match.groups(),
                "version": version,
                "version_source": source,
                "managed": "dlops_gpu" in record,
                "components": dict((k, v.get("version")) for k, v in record.items()
                                   if isinstance(v, dict) and k not in ("cuda", "cudnn", "dlops_gpu")),
                "nvcc": os.access(os.path.join(path, "bin", "nvcc"), os.X_OK),
                "cudnn": cudnn,
                "min_driver": None,
                "driver_support": None,
            }
            try:
                entry["min_driver"] = cuda_versions.cuda_min_driver(version or entry["series"])
                if driver:
                    entry["driver_support"] = cuda_versions.cuda_driver_support(version or entry["series"], driver)
            except ValueError:
                pass
            found.append(entry)
    return found


_ALTERNATIVES_ADMIN = ("/var/lib/dpkg/alternatives/", "/var/lib/alternatives/")


def _alternative_manual(root, name, value):
    """Whether a switch to ``value`` would leave the alternative ``name`` as it is (cuda_switch.settled), read
    without running update-alternatives: the mode on the first line of its admin file, the choice as the link
    /etc/alternatives/<name> says it."""
    for admin in _ALTERNATIVES_ADMIN:
        try:
            with open(_path(root, admin + name)) as handle:
                mode = handle.readline().strip()
        except (IOError, OSError):
            continue
        try:
            current = os.readlink(_path(root, os.path.join(cuda_switch.ALTERNATIVES_DIR, name)))
        except OSError:
            return False
        return cuda_switch.settled(current, value, name, mode)
    return False


def default_link(prefix="/usr/local", root="/"):
    """Where <prefix>/cuda points, whether update-alternatives owns it, and whether it holds it in manual mode."""
    link = _path(root, os.path.join(prefix, "cuda"))
    info = {"path": os.path.join(prefix, "cuda"), "exists": os.path.lexists(link), "target": None,
            "resolved": None, "series": None, "major_series": None, "alternatives": False,
            "alternatives_manual": False}
    if not os.path.islink(link):
        return info
    target = os.readlink(link)
    info["target"] = target
    resolved = _shown(root, realpath_in(root, link))
    info["resolved"] = resolved
    match = _CUDA_DIR_RE.match(os.path.basename(resolved))
    if match:
        info["series"] = "%s.%s" % match.groups()
        # <prefix>/cuda-X, which cuda_select points at the same toolkit.
        major = _path(root, os.path.join(prefix, "cuda-" + match.group(1)))
        major_match = _CUDA_DIR_RE.match(os.path.basename(realpath_in(root, major))) if os.path.islink(major) else None
        if major_match:
            info["major_series"] = "%s.%s" % major_match.groups()
    # Only the alternative named cuda counts: a link into another alternative is not ours to switch.
    if target == "/etc/alternatives/cuda":
        name = "cuda"
        info["alternatives"] = any(os.path.exists(_path(root, d + name)) for d in _ALTERNATIVES_ADMIN)
        # What a switch (cuda_select) leaves: cuda, and cuda-X where that is an alternative too, chosen by hand.
        if info["alternatives"] and match:
            toolkit = os.path.join(prefix, "cuda-" + info["series"])
            manual = _alternative_manual(root, "cuda", toolkit)
            major_name = "cuda-" + match.group(1)
            major_link = _path(root, os.path.join(prefix, major_name))
            if manual and os.path.islink(major_link) and os.readlink(major_link) == "/etc/alternatives/" + major_name:
                manual = _alternative_manual(root, major_name, toolkit)
            info["alternatives_manual"] = manual
    return info


def system_cudnn(root="/"):
    arch_dirs = lib_dirs(root)[:2]
    includes = [_path(root, "/usr/include"), _path(root, "/usr/include/%s" % os.path.basename(arch_dirs[0]))]
    found = cudnn_in(includes, arch_dirs)
    if found:
        found["source"] = _shown(root, found["source"])
    return found


CDI_SPECS = ("/etc/cdi/nvidia.yaml", "/etc/cdi/nvidia.json", "/var/run/cdi/nvidia.yaml", "/var/run/cdi/nvidia.json")
_CDI_DRIVER_RE = re.compile(r"lib(?:nvidia-ml|cuda)\.so\.([0-9]+\.[0-9]+(?:\.[0-9]+)?)")


def cdi_spec(root="/"):
    """The first NVIDIA CDI spec found and the driver version it was generated for (from its library paths)."""
    for spec in CDI_SPECS:
        text = _read(_path(root, spec))
        if text is not None:
            match = _CDI_DRIVER_RE.search(text)
            return {"spec": spec, "driver_version": match.group(1) if match else None}
    return {"spec": None, "driver_version": None}


# The whole probe -----------------------------------------------------------

def run_command(cmd):
    """(rc, stdout, stderr) of a command; the module passes AnsibleModule.run_command instead."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def gpu_details(root="/", nvml=True, nvidia_smi=None, run=run_command):
    """Per-GPU details from NVML, else `nvidia-smi -q -x`. Returns (data or None, source, error).

    Under a test root, a file nvidia-smi-q-x.xml there stands in for nvidia-smi and NVML is not asked.
    """
    if root != "/":
        fake = os.path.join(root, "nvidia-smi-q-x.xml")
        if os.path.exists(fake):
            with open(fake, "rb") as handle:
                return parse_nvidia_smi_xml(handle.read()), "nvidia-smi", None
        return None, None, None
    error = None
    if nvml:
        try:
            return nvml_probe(), "nvml", None
        except NvmlError as exc:
            error = {"code": exc.code, "message": str(exc)}
            if exc.code is not None:
                return None, None, error  # NVML is there but refuses: nvidia-smi would say the same
    if nvidia_smi:
        rc, out, err = run([nvidia_smi, "-q", "-x"])
        if rc == 0:
            try:
                return parse_nvidia_smi_xml(out), "nvidia-smi", error
            except (ValueError, SyntaxError) as exc:
                error = {"code": None, "message": "nvidia-smi -q -x output not parsed: %s" % exc}
        else:
            error = {"code": None, "message": (out or err).strip()}
    return None, None, error


_WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*\Z")
# /etc/os-release's ID -> the name Ansible's distribution fact gives; an ID not here is shown capitalized.
_DISTRIBUTIONS = {"ubuntu": "Ubuntu", "debian": "Debian", "rhel": "RedHat", "centos": "CentOS", "rocky": "Rocky",
                  "almalinux": "AlmaLinux", "ol": "OracleLinux", "fedora": "Fedora", "amzn": "Amazon",
                  "sles": "SLES", "opensuse-leap": "openSUSE Leap"}
_FAMILIES = (("debian", "Debian"), ("ubuntu", "Debian"), ("rhel", "RedHat"), ("fedora", "RedHat"),
             ("centos", "RedHat"), ("suse", "Suse"))


def os_release(text):
    """/etc/os-release (KEY=value lines, values quoted or not) -> dict."""
    fields = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and re.match(r"[A-Z0-9_]+\Z", key):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            fields[key] = value
    return fields


def system(root="/"):
    """The distribution, its family and version, the kernel and the machine, named as Ansible's facts name them
    (distribution, os_family, distribution_version, distribution_major_version, distribution_release, kernel,
    architecture), from /etc/os-release and uname: what the roles would otherwise run a setup module for; and the
    package manager's name for the architecture (package_architecture: amd64 on Debian, x86_64 on RedHat)."""
    fields = os_release(_read(_path(root, "/etc/os-release")) or _read(_path(root, "/usr/lib/os-release")))
    # These name repository folders and apt suites: a value that is not one plain word is dropped.
    for key in ("ID", "VERSION_ID", "VERSION_CODENAME"):
        if not _WORD_RE.match(fields.get(key, "")):
            fields.pop(key, None)
    ident = fields.get("ID", "").lower()
    like = [ident] + fields.get("ID_LIKE", "").lower().split()
    name = _DISTRIBUTIONS.get(ident, ident.capitalize() or None)
    family = next((fam for word in like for key, fam in _FAMILIES if word == key), name)
    version = fields.get("VERSION_ID", "")
    uname = os.uname()
    return {
        "distribution": name,
        "os_family": family,
        "distribution_version": version,
        "distribution_major_version": version.split(".")[0],
        "distribution_release": fields.get("VERSION_CODENAME", ""),
        "kernel": uname.release,
        "architecture": uname.machine,
        "package_architecture": machines.names(uname.machine)["deb" if family == "Debian" else "rpm"],
    }


def probe_host(root="/", prefixes=("/usr/local",), nvml=True, nvidia_smi=None, run=run_command):
    """Everything gpu_facts returns as ansible_facts.gpu (see its RETURN)."""
    pci = pci_devices(root)
    kernel = kernel_module(root)
    user = userspace(root)
    state = driver_state(pci, kernel, user)
    details, source, error = None, None, None
    if pci or kernel["loaded"] or root != "/":
        details, source, error = gpu_details(root, nvml, nvidia_smi, run)
    if error and error.get("code") == NVML_ERROR_LIB_RM_VERSION_MISMATCH and not state["mismatch"]:
        state.update(mismatch=True, reboot_required=True,
                     reason="NVML reports a driver/library version mismatch: reload the nvidia modules or reboot")
    details = details or {}
    gpus = details.get("gpus", [])
    for gpu in gpus:
        gpu.setdefault("compute_capability", None)
        if not gpu.get("architecture"):
            gpu["architecture"] = cuda_versions.architecture(gpu["compute_capability"])
    version = kernel["version"] or details.get("driver_version") or user["version"]
    # The system the module runs on, as uname is, also when the GPU side is a test tree under root.
    host = system()
    return {
        "present": bool(pci or gpus),
        "machine": host["architecture"],
        "system": host,
        "count": len(gpus) if gpus else len(pci),
        "pci": pci,
        "kernel": kernel,
        "nouveau_loaded": module_loaded("nouveau", root),
        "userspace": user,
        "driver": {
            "version": version,
            "branch": version.split(".")[0] if version else None,
            "cuda_driver_version": details.get("cuda_driver_version"),
            "mismatch": state["mismatch"],
            "reason": state["reason"],
            "reboot_required": state["reboot_required"],
        },
        "nvml": {"source": source, "error": error},
        "gpus": gpus,
        "busy": any(gpu.get("processes") for gpu in gpus),
        # Support is judged against the driver that runs, not one merely installed.
        "toolkits": toolkits(prefixes, root, run, kernel["version"] or details.get("driver_version")),
        "cuda_default": default_link(prefixes[0], root),
        "cudnn_system": system_cudnn(root),
        "cdi": cdi_spec(root),
    }
