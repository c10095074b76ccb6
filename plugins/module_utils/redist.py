# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NVIDIA redist manifests and archives: resolve, verify, unpack, install aside and rename into place.

Standard library only. The controller side (redist_fetch) resolves versions
and fills the archive cache; the host side (cuda_toolkit, cuda_cudnn) checks
what is installed against version.json and installs what differs:

    archives verified by sha256 -> unpacked in a staging folder beside the
    target -> version.json written last -> one rename into place.

A run interrupted at any point leaves either the old toolkit or none at the
target path, plus a staging folder that the next run removes and rebuilds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import tarfile

MANIFEST_RE = re.compile(r"redistrib_([0-9]+(?:\.[0-9]+){1,3})\.json")
MACHINE_PLATFORMS = {"x86_64": "linux-x86_64", "amd64": "linux-x86_64", "aarch64": "linux-sbsa", "arm64": "linux-sbsa"}
MARKER = "dlops_gpu"
STAGING = ".dlops-staging-"
RETIRED = ".dlops-retired-"


class RedistError(Exception):
    pass


def vtuple(version):
    return tuple(int(p) for p in re.findall(r"[0-9]+", str(version or "")))


# Manifests -----------------------------------------------------------------

def index_versions(html):
    """Release labels of the redistrib_X.Y.Z.json files an index page links to, oldest first."""
    return sorted(set(MANIFEST_RE.findall(html or "")), key=vtuple)


def resolve(requested, available, product="CUDA"):
    """X.Y -> the newest X.Y.Z offered; X.Y.Z -> itself. Fails naming what is offered."""
    requested = str(requested).strip()
    parts = vtuple(requested)
    if len(parts) < 2 or not re.match(r"^[0-9.]+$", requested):
        raise RedistError("%s version %r is not X.Y or X.Y.Z" % (product, requested))
    if requested in available:
        return requested
    if len(parts) == 2:
        matching = [v for v in available if vtuple(v)[:2] == parts]
        if matching:
            return max(matching, key=vtuple)
    raise RedistError("%s %s is not offered here; available: %s" % (product, requested, ", ".join(available) or "none"))


def request_key(product, request, platform):
    """How redist_fetch keys a request's release, and how the roles find it again."""
    platform = request.get("platform") or platform
    if product == "cudnn":
        return "%s/cuda%s/%s" % (request["version"], request["cuda_major"], platform)
    return "%s/%s" % (request["version"], platform)


def pick(product, requests, releases, platform="linux-x86_64"):
    """Each request with its release label and only the archives it asked for."""
    picked = []
    for request in requests or []:
        release = releases[request_key(product, request, platform)]
        names = ["cudnn"] if product == "cudnn" else \
            list(request.get("components") or []) + list(request.get("optional") or [])
        entry = dict(request)
        entry["label"] = release["label"]
        entry["archives"] = dict((n, a) for n, a in release["archives"].items() if n in names)
        picked.append(entry)
    return picked


def components(manifest, names, platform):
    """{name: {name, title, version, relative_path, sha256, size}} for the components asked."""
    found = {}
    missing = []
    for name in names:
        entry = manifest.get(name)
        archive = entry.get(platform) if isinstance(entry, dict) else None
        if not archive or "relative_path" not in archive:
            missing.append(name)
            continue
        found[name] = {
            "name": name,
            "title": entry.get("name", name),
            "version": entry.get("version"),
            "relative_path": archive["relative_path"],
            "sha256": archive["sha256"],
            "size": int(archive.get("size") or 0),
        }
    if missing:
        offered = sorted(k for k, v in manifest.items() if isinstance(v, dict) and platform in v)
        raise RedistError("CUDA %s has no %s for %s; its components are: %s" % (
            manifest.get("release_label"), ", ".join(missing), platform, ", ".join(offered)))
    return found


def cudnn_archive(manifest, cuda_major, platform):
    """The cuDNN archive built for a CUDA major (manifest key cudaNN), failing with the variants offered."""
    entry = manifest.get("cudnn") or {}
    variant = "cuda%s" % cuda_major
    per_platform = entry.get(platform) or {}
    archive = per_platform.get(variant)
    if not archive:
        offered = entry.get("cuda_variant") or sorted(k[4:] for k in per_platform)
        raise RedistError("cuDNN %s has no build for CUDA %s on %s; it is built for CUDA %s" % (
            manifest.get("release_label"), cuda_major, platform, ", ".join(offered) or "nothing"))
    return {
        "name": "cudnn",
        "title": entry.get("name", "cuDNN"),
        "version": entry.get("version"),
        "variant": variant,
        "relative_path": archive["relative_path"],
        "sha256": archive["sha256"],
        "size": int(archive.get("size") or 0),
    }


# Files ----------------------------------------------------------------------

def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path, sha256):
    if not os.path.isfile(path):
        raise RedistError("archive %s is missing" % path)
    actual = sha256_file(path)
    if actual != sha256:
        raise RedistError("archive %s is corrupt: sha256 %s, the manifest says %s" % (path, actual, sha256))


def _member_path(name):
    """Archive path without its top folder; None for the top folder itself. Rejects escapes."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise RedistError("archive member %r leaves its folder" % name)
    return "/".join(parts[1:]) or None


def unpack(archive, dest, rename=None):
    """Extract an NVIDIA redist archive (one top folder) into dest, owned by root.

    rename maps a path inside the top folder to another (LICENSE files of
    several components would collide otherwise).
    """
    rename = rename or {}
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            path = _member_path(member.name)
            if path is None:
                continue
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                raise RedistError("archive member %r is not a file, folder or link" % member.name)
            if member.issym() and (member.linkname.startswith("/") or os.path.normpath(
                    os.path.join(os.path.dirname(path), member.linkname)).startswith("..")):
                raise RedistError("archive link %r points outside the toolkit" % member.name)
            if member.islnk():
                member.linkname = _member_path(member.linkname) or ""
            member.name = rename.get(path, path)
            member.uid = member.gid = 0
            member.uname = member.gname = "root"
            members.append(member)
        kwargs = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
        tar.extractall(dest, members=members, **kwargs)


def read_record(toolkit):
    """version.json of a toolkit folder as a dict, or None."""
    try:
        with open(os.path.join(toolkit, "version.json")) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(toolkit, record):
    """Write version.json through a temporary file and a rename."""
    path = os.path.join(toolkit, "version.json")
    tmp = path + ".dlops-tmp"
    with open(tmp, "w") as handle:
        json.dump(record, handle, indent=4, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def _remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Toolkits -------------------------------------------------------------------

def toolkit_path(prefix, version):
    return os.path.join(prefix, "cuda-%d.%d" % vtuple(version)[:2])


def toolkit_differences(record, version, wanted):
    """What differs between an installed version.json and the wanted release and components ([] = nothing)."""
    if record is None:
        return ["not installed"]
    differences = []
    have = (record.get("cuda") or {}).get("version")
    if have != version:
        differences.append("version %s -> %s" % (have, version))
    for name, component in sorted(wanted.items()):
        installed = (record.get(name) or {}).get("version")
        if installed != component["version"]:
            differences.append("%s %s -> %s" % (name, installed or "missing", component["version"]))
    return differences


def toolkit_record(version, wanted, platform):
    record = {"cuda": {"name": "CUDA SDK", "version": version}}
    for name, component in wanted.items():
        record[name] = {"name": component.get("title") or name, "version": component["version"]}
    record[MARKER] = {"method": "redist", "platform": platform, "components": sorted(wanted)}
    return record


def install_toolkit(prefix, version, wanted, platform, archive_path):
    """Build <prefix>/cuda-X.Y aside from the verified archives and rename it into place.

    wanted: {name: component}; archive_path(component) -> local archive file.
    Every archive is verified before anything is unpacked.
    """
    target = toolkit_path(prefix, version)
    name = os.path.basename(target)
    staging = os.path.join(prefix, STAGING + name)
    retired = os.path.join(prefix, RETIRED + name)
    for component in wanted.values():
        verify(archive_path(component), component["sha256"])
    for leftover in (staging, retired):
        _remove(leftover)
    os.makedirs(staging, 0o755)
    try:
        for comp_name, component in sorted(wanted.items()):
            unpack(archive_path(component), staging,
                   rename={"LICENSE": "licenses/%s/LICENSE" % comp_name})
        if os.path.isdir(os.path.join(staging, "lib")) and not os.path.lexists(os.path.join(staging, "lib64")):
            os.symlink("lib", os.path.join(staging, "lib64"))
        os.chmod(staging, 0o755)
        write_record(staging, toolkit_record(version, wanted, platform))
    except Exception:
        _remove(staging)
        raise
    if os.path.lexists(target):
        os.rename(target, retired)
    os.rename(staging, target)
    _fsync_dir(prefix)
    _remove(retired)
    return target


def remove_toolkit(prefix, series):
    """Rename a toolkit out of sight, then delete it."""
    target = toolkit_path(prefix, series)
    retired = os.path.join(prefix, RETIRED + os.path.basename(target))
    _remove(retired)
    os.rename(target, retired)
    _fsync_dir(prefix)
    _remove(retired)


# cuDNN inside a toolkit ----------------------------------------------------

def cudnn_files(toolkit):
    """cuDNN's headers and libraries inside a toolkit folder."""
    found = []
    for sub, stem in (("include", "cudnn"), ("lib", "libcudnn"), ("lib64", "libcudnn")):
        directory = os.path.join(toolkit, sub)
        if os.path.islink(directory) or not os.path.isdir(directory):
            continue
        found.extend(os.path.join(directory, f) for f in sorted(os.listdir(directory)) if f.startswith(stem))
    return found


def cudnn_differences(record, cudnn):
    have = (record or {}).get("cudnn") or {}
    if have.get("version") == cudnn["version"] and have.get("variant") == cudnn["variant"]:
        return []
    return ["cuDNN %s -> %s (%s)" % (have.get("version") or "missing", cudnn["version"], cudnn["variant"])]


def install_cudnn(toolkit, cudnn, archive):
    """Put cuDNN's include/ and lib/ into a toolkit, each file renamed into place, version.json last."""
    verify(archive, cudnn["sha256"])
    lib_dir = "lib64" if os.path.isdir(os.path.join(toolkit, "lib64")) and \
        not os.path.islink(os.path.join(toolkit, "lib64")) else "lib"
    staging = os.path.join(toolkit, STAGING + "cudnn")
    _remove(staging)
    os.makedirs(staging, 0o755)
    try:
        unpack(archive, staging, rename={"LICENSE": "licenses/cudnn/LICENSE"})
        old = set(cudnn_files(toolkit))
        placed = set()
        for sub, dest_sub in (("include", "include"), ("lib", lib_dir), ("licenses/cudnn", "licenses/cudnn")):
            source_dir = os.path.join(staging, sub)
            if not os.path.isdir(source_dir):
                continue
            dest_dir = os.path.join(toolkit, dest_sub)
            if not os.path.isdir(dest_dir):
                os.makedirs(dest_dir, 0o755)
            for entry in sorted(os.listdir(source_dir)):
                source = os.path.join(source_dir, entry)
                if os.path.isdir(source) and not os.path.islink(source):
                    _remove(os.path.join(dest_dir, entry))
                os.rename(source, os.path.join(dest_dir, entry))
                placed.add(os.path.join(dest_dir, entry))
        for stale in sorted(old - placed):
            _remove(stale)
    finally:
        _remove(staging)
    record = read_record(toolkit) or {}
    record["cudnn"] = {"name": cudnn.get("title") or "cuDNN", "version": cudnn["version"], "variant": cudnn["variant"]}
    write_record(toolkit, record)


def remove_cudnn(toolkit):
    for path in cudnn_files(toolkit):
        _remove(path)
    _remove(os.path.join(toolkit, "licenses", "cudnn"))
    record = read_record(toolkit)
    if record and "cudnn" in record:
        del record["cudnn"]
        write_record(toolkit, record)
