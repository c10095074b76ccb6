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

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tarfile
import zlib

try:
    import lzma
    _LZMA_ERRORS = (lzma.LZMAError,)
except ImportError:  # pragma: no cover - a Python built without lzma reads no .tar.xz anyway
    _LZMA_ERRORS = ()

from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file

MANIFEST_RE = re.compile(r"redistrib_([0-9]+(?:\.[0-9]+){1,3})\.json")
MARKER = "dlops_gpu"
STAGING = ".dlops-staging-"
RETIRED = ".dlops-retired-"
# Major and minor without a leading zero (they name folders: cuda-12.8); later parts as NVIDIA writes them (580.65.06).
VERSION_RE = re.compile(r"^(?:0|[1-9][0-9]{0,8})(?:\.(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9}){0,4})?\Z")
REQUEST_RE = re.compile(r"^(?:0|[1-9][0-9]{0,8})(?:\.(?:0|[1-9][0-9]{0,8})){1,3}\Z")
# The kernel follows at most 40 symlinks while resolving one path (MAXSYMLINKS) and fails with ELOOP beyond.
MAX_LINKS = atomic_file.MAX_LINKS
# What a cuDNN archive may put into a toolkit's include/ and lib/: NVIDIA's hold only these.
CUDNN_STEMS = {"include": "cudnn", "lib": "libcudnn"}
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
SIZE_RE = re.compile(r"^[0-9]{1,18}\Z")
PATH_PART_RE = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,254}\Z")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}\Z")
try:
    _RECURSION_ERRORS = (RecursionError,)
except NameError:  # pragma: no cover - Python 2 raises RuntimeError
    _RECURSION_ERRORS = (RuntimeError,)

# What reading a damaged archive raises, besides tarfile's own errors.
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, EnvironmentError) + _LZMA_ERRORS


class RedistError(Exception):
    pass


class _Refused(Exception):
    """One member of an archive is refused; unpack adds the archive and the member to the message."""


def vtuple(version):
    return tuple(int(p) for p in re.findall(r"[0-9]+", str(version or "")))


# Checks on what the mirror and the controller hand over -----------------------

def _within(path, base):
    """Whether the resolved path is base or inside it."""
    return path == base or path.startswith(base.rstrip("/") + "/")


def check_version(value, what):
    """A version string from a manifest or an index: digits and dots only (13.0.48, 9.13.0.50), no 012.8."""
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise RedistError("%s: version %r is not digits and dots (such as 13.0.48 or 9.13.0.50; no empty part, "
                          "no leading zero in the major or minor)" % (what, value))
    return value


def check_relative_path(value, what):
    """A relative_path from a manifest: folders and a file name of letters, digits and ._+-, no '..', no '/' first."""
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise RedistError("%s: relative_path %r is not a path" % (what, value))
    if value.startswith("/") or not all(PATH_PART_RE.match(part) for part in value.split("/")):
        raise RedistError("%s: relative_path %r is not a plain relative path (folders and a file name of letters, "
                          "digits and ._+-, none starting with a dot, no leading /)" % (what, value))
    return value


def check_sha256(value, what):
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise RedistError("%s: sha256 %r is not 64 lower-case hex digits" % (what, value))
    return value


def check_size(value, what):
    """A size as NVIDIA writes it (a string of digits) or an int; returns the int."""
    if isinstance(value, bool) or not (isinstance(value, int) and value >= 0 or
                                       isinstance(value, str) and SIZE_RE.match(value)):
        raise RedistError("%s: size %r is not a non-negative whole number of bytes" % (what, value))
    return int(value)


def check_name(value, what):
    """A component name, used as a folder name (licenses/<name>) and a version.json key."""
    if not isinstance(value, str) or not NAME_RE.match(value) or value in ("cuda", MARKER):
        raise RedistError("%s: component name %r is not a plain name (letters, digits, _.+-)" % (what, value))
    return value


def inside(folder, relative, what):
    """folder/relative, refused when, with every link followed, it is not inside folder."""
    path = os.path.join(folder, relative)
    base = os.path.realpath(folder)
    real = os.path.realpath(path)
    if not _within(real, base) or real == base:
        raise RedistError("%s: %s leads to %s, outside %s" % (what, path, real, folder))
    return path


def check_archive(archive, what, need_size=True):
    """The archive fields redist_fetch returns (relative_path, sha256, size, version), checked; a clean copy."""
    if not isinstance(archive, dict):
        raise RedistError("%s: %r is not a mapping" % (what, archive))
    clean = dict(archive)
    clean["relative_path"] = check_relative_path(archive.get("relative_path"), what)
    clean["sha256"] = check_sha256(archive.get("sha256"), what)
    if need_size or archive.get("size") is not None:
        clean["size"] = check_size(archive.get("size"), what)
    clean["version"] = check_version(archive.get("version"), what)
    title = archive.get("title")
    if title is not None and not isinstance(title, str):
        raise RedistError("%s: title %r is not a string" % (what, title))
    return clean


def check_components(wanted, archive_dir):
    """On a host: the components cuda_toolkit got from the controller, checked; {name: archive path}."""
    if not isinstance(wanted, dict):
        raise RedistError("components %r is not a mapping of names to archives" % (wanted,))
    paths = {}
    for name, component in sorted(wanted.items()):
        check_name(name, "component %r" % (name,))
        what = "component %s" % name
        component = check_archive(component, what, need_size=False)
        paths[name] = inside(archive_dir, component["relative_path"], what)
    return paths


def check_cudnn(cudnn, archive_dir):
    """On a host: the cuDNN archive cuda_cudnn got from the controller, checked; its path."""
    what = "cudnn"
    cudnn = check_archive(cudnn, what, need_size=False)
    variant = cudnn.get("variant")
    if not isinstance(variant, str) or not re.match(r"^cuda[0-9]{1,3}\Z", variant):
        raise RedistError("cudnn: variant %r is not cudaNN" % (variant,))
    return inside(archive_dir, cudnn["relative_path"], what)


def parse_manifest(data, source):
    """A redistrib_X.Y.Z.json as bytes -> dict; a message naming source for bytes that are not a JSON object."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise RedistError("%s is not UTF-8 (byte %d): it is not a redist manifest" % (source, exc.start))
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise RedistError("%s is not valid JSON (%s): it is not a redist manifest" % (source, exc))
    if not isinstance(manifest, dict):
        raise RedistError("%s holds a JSON %s, not the object of a redist manifest" % (source, type(manifest).__name__))
    if "release_label" in manifest:
        check_version(manifest["release_label"], "%s release_label" % source)
    return manifest


# Manifests -----------------------------------------------------------------

def index_versions(html):
    """Release labels of the redistrib_X.Y.Z.json files an index page links to, oldest first."""
    return sorted(set(MANIFEST_RE.findall(html or "")), key=vtuple)


def resolve(requested, available, product="CUDA"):
    """X.Y -> the newest X.Y.Z offered; X.Y.Z -> itself. Fails naming what is offered."""
    requested = str(requested).strip()
    parts = vtuple(requested)
    if not REQUEST_RE.match(requested):
        raise RedistError("%s version %r is not X.Y or X.Y.Z (numbers without leading zeros, one dot between each)"
                          % (product, requested))
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
    """Each request with its release label, only the archives it asked for, and whether it is their last use."""
    picked = []
    for request in requests or []:
        release = releases[request_key(product, request, platform)]
        names = ["cudnn"] if product == "cudnn" else \
            list(request.get("components") or []) + list(request.get("optional") or [])
        entry = dict(request)
        entry["label"] = release["label"]
        entry["archives"] = dict((n, a) for n, a in release["archives"].items() if n in names)
        picked.append(entry)
    # last_use: no later pick takes any of its archives, so its copy on the host may go once it is unpacked.
    for index, entry in enumerate(picked):
        paths = set(a.get("relative_path") for a in entry["archives"].values())
        entry["last_use"] = not any(paths & set(a.get("relative_path") for a in later["archives"].values())
                                    for later in picked[index + 1:])
    return picked


def _brief(value):
    """A manifest value for a message, cut short."""
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= 80 else text[:77] + "..."


def _archive_fields(entry, archive, name, what):
    """The checked fields of one manifest archive entry."""
    if not isinstance(archive, dict):
        raise RedistError("%s: %r is not an archive entry" % (what, archive))
    title = entry.get("name", name)
    return {
        "name": name,
        "title": title if isinstance(title, str) else name,
        "version": check_version(entry.get("version"), what),
        "relative_path": check_relative_path(archive.get("relative_path"), what),
        "sha256": check_sha256(archive.get("sha256"), what),
        "size": check_size(archive.get("size"), what),
    }


def components(manifest, names, platform, source=None):
    """{name: {name, title, version, relative_path, sha256, size}} for the components asked, each checked."""
    source = source or "CUDA %s manifest" % manifest.get("release_label")
    found = {}
    missing = []
    for name in names:
        entry = manifest.get(name)
        if not isinstance(entry, dict) or platform not in entry:
            missing.append(name)
            continue
        archive = entry[platform]
        if not isinstance(archive, dict) or "relative_path" not in archive:
            raise RedistError("%s: the entry of %s for %s is malformed: %s, not an archive with a relative_path; "
                              "the manifest is damaged, fix the mirror"
                              % (source, name, platform, _brief(archive)))
        found[name] = _archive_fields(entry, archive, name, "%s: %s (%s)" % (source, name, platform))
    if missing:
        offered = sorted(k for k, v in manifest.items() if isinstance(v, dict) and platform in v)
        raise RedistError("CUDA %s has no %s for %s; its components are: %s" % (
            manifest.get("release_label"), ", ".join(missing), platform, ", ".join(offered) or "none"))
    return found


def cudnn_archive(manifest, cuda_major, platform, source=None):
    """The cuDNN archive built for a CUDA major (manifest key cudaNN), failing with the variants offered."""
    source = source or "cuDNN %s manifest" % manifest.get("release_label")
    entry = manifest.get("cudnn")
    entry = entry if isinstance(entry, dict) else {}
    variant = "cuda%s" % cuda_major
    per_platform = entry.get(platform)
    per_platform = per_platform if isinstance(per_platform, dict) else {}
    archive = per_platform.get(variant)
    if not archive:
        declared = entry.get("cuda_variant")
        declared = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
        offered = sorted(k[4:] for k in per_platform if k.startswith("cuda")) or [str(d) for d in declared]
        if str(cuda_major) in offered:
            raise RedistError("cuDNN %s names a build for CUDA %s but holds no archive for it on %s: the manifest "
                              "is incomplete" % (manifest.get("release_label"), cuda_major, platform))
        raise RedistError("cuDNN %s has no build for CUDA %s on %s; it is built for CUDA %s" % (
            manifest.get("release_label"), cuda_major, platform, ", ".join(str(o) for o in offered) or "nothing"))
    found = _archive_fields(entry, archive, "cudnn", "%s: cudnn %s (%s)" % (source, variant, platform))
    found["title"] = found["title"] if "name" in entry else "cuDNN"
    found["variant"] = variant
    return found


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


def _show(name):
    """A member name for a message, bytes that are not UTF-8 shown as backslash-x escapes."""
    if not isinstance(name, str):
        return repr(name)
    return "'%s'" % name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _utf8(name, what):
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused("its %s is not UTF-8" % what)


def _member_parts(name, what="name"):
    """(top folder, path inside it or None for the top folder itself) of an archive path. Refuses escapes."""
    if not name:
        raise _Refused("it has no %s" % what)
    if name.startswith("/") or name.startswith("\\"):
        raise _Refused("its %s %s is absolute" % (what, _show(name)))
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _Refused("its %s %s climbs out with '..'" % (what, _show(name)))
    if not parts:
        raise _Refused("it has no %s" % what)
    return parts[0], "/".join(parts[1:]) or None


def real_path(path):
    """os.path.realpath without recursion (atomic_file.follow), refusing more than MAX_LINKS links as ELOOP would."""
    try:
        return atomic_file.follow(path, check_owner=False)
    except atomic_file.FileWriteError:
        raise _Refused("resolving %s follows more than %d links (a chain or a loop of links, which the kernel "
                       "refuses with ELOOP too)" % (path, MAX_LINKS))


def _file_mode(mode):
    """tarfile's data filter: no setuid/setgid/sticky, no group/other write, owner read-write."""
    mode &= 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


class _Unpacker(object):
    """Extracts one archive member by member, deciding on the paths as they resolve on disk at that moment."""

    def __init__(self, archive, dest, rename, links):
        self.archive = archive
        self.base = os.path.realpath(dest)
        self.rename = rename
        self.links = links
        self.dirs = []
        self.root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.top = None

    def refuse(self, member, why):
        raise RedistError("archive %s, member %s: %s; nothing was installed" % (self.archive, _show(member), why))

    def _outside(self, real):
        return not _within(real, self.base)

    def _makedirs(self, real):
        """Create the missing folders of a resolved path (its existing part holds no links)."""
        missing = []
        while not os.path.lexists(real) and real != self.base:
            missing.append(real)
            real = os.path.dirname(real)
        for folder in reversed(missing):
            os.mkdir(folder, 0o700)
            self.dirs.append(folder)

    def place(self, tar, member):
        name = member.name
        _utf8(name, "name")
        top, path = _member_parts(name)
        if path is None and not member.isdir():
            raise _Refused("it is not inside the archive's top folder")
        if self.top is None:
            self.top = top
        elif top != self.top:
            raise _Refused("it is in the top folder %s, but the archive's top folder is %s: an NVIDIA archive has "
                           "one" % (_show(top), _show(self.top)))
        if path is None:
            return
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise _Refused("it is a device, fifo or other special file, not a file, folder or link")
        path = self.rename.get(path, path)
        parent = real_path(os.path.dirname(os.path.join(self.base, path)))
        if self._outside(parent):
            raise _Refused("its folder leads to %s (through a link), outside the folder it unpacks into" % parent)
        target = os.path.join(parent, os.path.basename(path))
        self._makedirs(parent)
        existing = _lstat(target)
        if existing is not None and stat.S_ISLNK(existing.st_mode) and not member.issym():
            raise _Refused("%s is a link already: it would be written through" % target)
        if existing is not None and stat.S_ISDIR(existing.st_mode) and not member.isdir():
            raise _Refused("%s is a folder already" % target)
        if member.isdir():
            if existing is None:
                os.mkdir(target, 0o700)
            elif not stat.S_ISDIR(existing.st_mode):
                raise _Refused("%s is a file already" % target)
            self.dirs.append(target)
        elif member.issym():
            self._symlink(member, target, existing)
        elif member.islnk():
            self._hardlink(member, target, existing)
        else:
            self._file(tar, member, target, existing)

    def _symlink(self, member, target, existing):
        linkname = member.linkname
        _utf8(linkname, "link target")
        if not linkname:
            raise _Refused("it is a link to nothing")
        if linkname.startswith("/"):
            raise _Refused("it is a link to the absolute path %s" % _show(linkname))
        lexical = os.path.normpath(os.path.join(os.path.relpath(os.path.dirname(target), self.base), linkname))
        real = real_path(os.path.join(os.path.dirname(target), linkname))
        if lexical == ".." or lexical.startswith("../") or self._outside(real):
            raise _Refused("it is a link to %s, which leads to %s, outside the folder it unpacks into"
                           % (_show(linkname), real))
        if existing is not None:
            os.unlink(target)
        os.symlink(linkname, target)
        if self.root:
            os.lchown(target, 0, 0)
        self.links[target] = (self.archive, member.name)

    def _hardlink(self, member, target, existing):
        _utf8(member.linkname, "link target")
        top, path = _member_parts(member.linkname, "hard link target")
        if top != self.top:
            raise _Refused("it is a hard link to %s, whose top folder %s is not the archive's top folder %s"
                           % (_show(member.linkname), _show(top), _show(self.top)))
        if path is None:
            raise _Refused("it is a hard link to the archive's top folder")
        path = self.rename.get(path, path)
        source = real_path(os.path.join(self.base, path))
        if self._outside(source):
            raise _Refused("it is a hard link to %s, which leads to %s, outside the folder it unpacks into"
                           % (_show(member.linkname), source))
        found = _lstat(source)
        if found is None or not stat.S_ISREG(found.st_mode):
            raise _Refused("it is a hard link to %s, which is not a file unpacked before it" % _show(member.linkname))
        if existing is not None:
            if os.path.samefile(source, target):
                return
            os.unlink(target)
        os.link(source, target)

    def _file(self, tar, member, target, existing):
        if existing is not None:
            os.unlink(target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as out:
            source = tar.extractfile(member)
            for block in iter(lambda: source.read(1 << 20), b""):
                out.write(block)
            os.fchmod(out.fileno(), _file_mode(member.mode))
            if self.root:
                os.fchown(out.fileno(), 0, 0)
        os.utime(target, (member.mtime, member.mtime))

    def finish(self):
        for folder in reversed(self.dirs):
            os.chmod(folder, 0o755)
            if self.root:
                os.chown(folder, 0, 0)
        for link, (archive, name) in sorted(self.links.items()):
            if not os.path.islink(link):
                continue
            try:
                real = real_path(link)
            except _Refused as exc:
                raise RedistError("archive %s, member %s: once the archive is unpacked, %s; nothing was installed"
                                  % (archive, _show(name), exc))
            except EnvironmentError as exc:
                raise RedistError("archive %s, member %s: the link cannot be followed once the archive is unpacked "
                                  "(%s); nothing was installed" % (archive, _show(name), exc))
            if self._outside(real):
                raise RedistError("archive %s, member %s: the link leads to %s once the archive is unpacked, outside "
                                  "the folder it unpacks into; nothing was installed" % (archive, _show(name), real))


def unpack(archive, dest, rename=None, links=None):
    """Extract an NVIDIA redist archive (one top folder) into dest, owned by root.

    Each member is checked against the folder as it is on disk at that moment: its folder, with every link
    followed, must be inside dest; a link must lead inside dest (and still does once all are unpacked); a hard
    link must lead to a file unpacked before it; nothing is written through an existing link. Modes as
    tarfile's data filter sets them. rename maps a path inside the top folder to another (the LICENSE files of
    several components would collide otherwise). links collects {path: (archive, member)} of the links made,
    so that several archives unpacked into one folder are checked together. Every member is in one top folder
    (a hard link too), and no path passes more than MAX_LINKS links. On a refusal or a damaged archive
    RedistError names the archive and the member; the caller removes dest. Returns the top folder's name.
    """
    if not os.path.isdir(dest):
        os.makedirs(dest, 0o755)
    unpacker = _Unpacker(archive, dest, rename or {}, {} if links is None else links)
    name = None
    try:
        tar = tarfile.open(archive, encoding="utf-8", errors="surrogateescape")
    except _READ_ERRORS as exc:
        raise RedistError("archive %s cannot be read (%s): it is damaged or not a tar archive; nothing was "
                          "installed" % (archive, exc))
    with tar:
        while True:
            try:
                member = tar.next()
            except _READ_ERRORS as exc:
                raise RedistError("archive %s is truncated or damaged after member %s (%s); nothing was installed"
                                  % (archive, _show(name) if name is not None else "none", exc))
            if member is None:
                break
            name = member.name
            try:
                unpacker.place(tar, member)
            except _Refused as exc:
                unpacker.refuse(name, str(exc))
            except _RECURSION_ERRORS:
                unpacker.refuse(name, "its links nest too deeply to be followed")
            except tarfile.TarError as exc:
                raise RedistError("archive %s is truncated or damaged in member %s (%s); nothing was installed"
                                  % (archive, _show(name), exc))
            except _READ_ERRORS as exc:
                if isinstance(exc, EnvironmentError) and exc.errno is not None:
                    raise RedistError("archive %s, member %s cannot be unpacked: %s; nothing was installed"
                                      % (archive, _show(name), exc))
                raise RedistError("archive %s is truncated or damaged in member %s (%s); nothing was installed"
                                  % (archive, _show(name), exc))
    unpacker.finish()
    return unpacker.top


def read_record(toolkit):
    """version.json of a toolkit folder as a dict, or None."""
    try:
        with open(os.path.join(toolkit, "version.json")) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_record(toolkit):
    """Why version.json could not be written (a link out of the folder, a folder, read-only, immutable), raised."""
    path = os.path.join(toolkit, "version.json")
    real = os.path.realpath(path)
    if not _within(real, os.path.realpath(toolkit)):
        raise RedistError("%s is a link to %s, outside %s: make it a file; the toolkit was left as it was"
                          % (path, real, toolkit))
    try:
        atomic_file.check_writable(atomic_file.resolve(path))
    except atomic_file.FileWriteError as exc:
        raise RedistError("%s; the toolkit was left as it was" % exc)
    return path


def write_record(toolkit, record):
    """Write version.json through a temporary file and a rename (atomic_file), refusing a link out of the folder."""
    path = check_record(toolkit)
    data = json.dumps(record, indent=4, sort_keys=True) + "\n"
    try:
        atomic_file.write(path, data.encode("utf-8"), mode=0o644)
    except atomic_file.FileWriteError as exc:
        raise RedistError(str(exc))


def _remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


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
    Every archive is verified before anything is unpacked; a refused or damaged archive leaves no staging
    folder and the target as it was.
    """
    target = toolkit_path(prefix, version)
    name = os.path.basename(target)
    staging = os.path.join(prefix, STAGING + name)
    retired = os.path.join(prefix, RETIRED + name)
    for comp_name, component in wanted.items():
        check_name(comp_name, "component %r" % (comp_name,))
        verify(archive_path(component), component["sha256"])
    for leftover in (staging, retired):
        _remove(leftover)
    os.makedirs(staging, 0o755)
    links = {}
    try:
        for comp_name, component in sorted(wanted.items()):
            unpack(archive_path(component), staging,
                   rename={"LICENSE": "licenses/%s/LICENSE" % comp_name}, links=links)
        if os.path.isdir(os.path.join(staging, "lib")) and not os.path.lexists(os.path.join(staging, "lib64")):
            os.symlink("lib", os.path.join(staging, "lib64"))
        os.chmod(staging, 0o755)
        _remove(os.path.join(staging, "version.json"))  # ours to write, whatever an archive put there
        write_record(staging, toolkit_record(version, wanted, platform))
    except BaseException:
        _remove(staging)
        raise
    if os.path.lexists(target):
        os.rename(target, retired)
    os.rename(staging, target)
    atomic_file.fsync_dir(prefix)
    _remove(retired)
    return target


def remove_toolkit(prefix, series):
    """Rename a toolkit out of sight, then delete it."""
    target = toolkit_path(prefix, series)
    retired = os.path.join(prefix, RETIRED + os.path.basename(target))
    _remove(retired)
    os.rename(target, retired)
    atomic_file.fsync_dir(prefix)
    _remove(retired)


def remove_archives(archive_dir, paths):
    """Delete the archives copied for an install (paths inside archive_dir, as check_components returns them),
    then the folders they leave empty, archive_dir included: the host keeps no copy it did not have."""
    base = os.path.normpath(archive_dir)
    for path in paths:
        try:
            if os.path.isfile(path) and not os.path.islink(path):
                os.unlink(path)
        except OSError:  # gone already, or not ours to delete: the install's result stands
            continue
        folder = os.path.dirname(os.path.normpath(path))
        while _within(folder, base) and os.path.isdir(folder) and not os.path.islink(folder):
            try:
                os.rmdir(folder)
            except OSError:  # not empty: another archive is still there
                break
            if folder == base:
                break
            folder = os.path.dirname(folder)


# cuDNN inside a toolkit ----------------------------------------------------

def _toolkit_dir(toolkit, sub):
    """toolkit/sub with its links followed, None when that is not a folder inside the toolkit."""
    directory = os.path.realpath(os.path.join(toolkit, sub))
    if not _within(directory, os.path.realpath(toolkit)) or not os.path.isdir(directory):
        return None
    return directory


def cudnn_files(toolkit):
    """cuDNN's headers and libraries inside a toolkit folder (include/ and lib/ followed where they stay inside)."""
    found = []
    seen = set()
    for sub, stem in (("include", "cudnn"), ("lib", "libcudnn"), ("lib64", "libcudnn")):
        directory = _toolkit_dir(toolkit, sub)
        if directory is None or directory in seen:
            continue
        seen.add(directory)
        found.extend(os.path.join(directory, f) for f in sorted(os.listdir(directory)) if f.startswith(stem))
    return found


def cudnn_differences(record, cudnn):
    have = (record or {}).get("cudnn") or {}
    if have.get("version") == cudnn["version"] and have.get("variant") == cudnn["variant"]:
        return []
    return ["cuDNN %s -> %s (%s)" % (have.get("version") or "missing", cudnn["version"], cudnn["variant"])]


def _cudnn_moves(archive, toolkit, staging, lib_dir, links, top=None):
    """(source, destination) of every entry cuDNN puts into the toolkit, all checked before the first move."""
    base = os.path.realpath(toolkit)
    members = dict((path, name) for path, (_archive, name) in links.items())
    for folder, _dirs, files in os.walk(staging):
        for entry in _dirs + files:
            path = os.path.join(folder, entry)
            if os.path.islink(path) and ".." in os.readlink(path).split("/"):
                raise RedistError("archive %s, member %s: a cuDNN link climbs out of its folder with '..' (%s); "
                                  "the toolkit was left as it was" % (archive, _show(members.get(path, path)),
                                                                      os.readlink(path)))
    moves = []
    for sub, dest_sub in (("include", "include"), ("lib", lib_dir), ("licenses/cudnn", "licenses/cudnn")):
        source_dir = os.path.join(staging, sub)
        if not os.path.lexists(source_dir):
            continue
        if os.path.realpath(source_dir) != source_dir or not os.path.isdir(source_dir):
            raise RedistError("archive %s: its %s is a link or a file, not a folder; the toolkit was left as it "
                              "was" % (archive, sub))
        dest_dir = os.path.join(base, dest_sub)
        real_dir = os.path.realpath(dest_dir)
        if not _within(real_dir, base) or _within(real_dir, staging) or real_dir == base:
            raise RedistError("%s leads to %s, outside the toolkit: cuDNN goes only into the toolkit's own folders; "
                              "make it a folder there; the toolkit was left as it was" % (dest_dir, real_dir))
        if os.path.lexists(real_dir) and not os.path.isdir(real_dir):
            raise RedistError("%s is not a folder; the toolkit was left as it was" % dest_dir)
        for entry in sorted(os.listdir(source_dir)):
            source = os.path.join(source_dir, entry)
            stem = CUDNN_STEMS.get(sub)
            if stem and not entry.startswith(stem):
                raise RedistError("archive %s, member %s: cuDNN puts only %s* files into the toolkit's %s/, and %s "
                                  "would replace or delete the toolkit's own; the toolkit was left as it was"
                                  % (archive, _show("%s/%s/%s" % (top or "(top folder)", sub, entry)), stem, sub,
                                     _show(entry)))
            dest = os.path.join(real_dir, entry)
            is_dir = os.path.isdir(source) and not os.path.islink(source)
            if not is_dir and os.path.isdir(dest) and not os.path.islink(dest):
                raise RedistError("%s is a folder, where archive %s has the file %s/%s; the toolkit was left as it "
                                  "was" % (dest, archive, sub, entry))
            moves.append((source, dest, is_dir))
    return moves


def install_cudnn(toolkit, cudnn, archive):
    """Put cuDNN's include/ and lib/ into a toolkit, each file renamed into place, version.json last.

    A refused or damaged archive leaves the toolkit as it was and no staging folder.
    """
    verify(archive, cudnn["sha256"])
    check_record(toolkit)
    real_toolkit = os.path.realpath(toolkit)
    lib_dir = "lib64" if os.path.isdir(os.path.join(toolkit, "lib64")) and \
        not os.path.islink(os.path.join(toolkit, "lib64")) else "lib"
    staging = os.path.join(real_toolkit, STAGING + "cudnn")
    _remove(staging)
    os.makedirs(staging, 0o755)
    try:
        links = {}
        top = unpack(archive, staging, rename={"LICENSE": "licenses/cudnn/LICENSE"}, links=links)
        moves = _cudnn_moves(archive, real_toolkit, staging, lib_dir, links, top)
        old = set(cudnn_files(toolkit))
        placed = set()
        for source, dest, is_dir in moves:
            if not os.path.isdir(os.path.dirname(dest)):
                os.makedirs(os.path.dirname(dest), 0o755)
            if is_dir:
                _remove(dest)
            os.rename(source, dest)
            placed.add(dest)
        for stale in sorted(old - placed):
            _remove(stale)
    finally:
        _remove(staging)
    record = read_record(toolkit) or {}
    record["cudnn"] = {"name": cudnn.get("title") or "cuDNN", "version": cudnn["version"], "variant": cudnn["variant"]}
    write_record(toolkit, record)


def remove_cudnn(toolkit):
    if "cudnn" in (read_record(toolkit) or {}):
        check_record(toolkit)
    for path in cudnn_files(toolkit):
        _remove(path)
    licenses = _toolkit_dir(toolkit, "licenses/cudnn")
    if licenses is not None:
        _remove(licenses)
    record = read_record(toolkit)
    if record and "cudnn" in record:
        del record["cudnn"]
        write_record(toolkit, record)
