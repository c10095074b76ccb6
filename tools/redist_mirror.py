# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a mirror in NVIDIA's redist layout from NVIDIA's own PyPI wheels.

For sites whose only route out is a PyPI proxy: the result serves the cuda and
cudnn roles' `redist` method like NVIDIA's download site does.

    python3 tools/redist_mirror.py --out /srv/nvidia [--wheels DIR] [--release cuda:12.8.1 ...]

    /srv/nvidia/cuda/redist/redistrib_12.8.1.json            manifest, real sha256
    /srv/nvidia/cuda/redist/cuda_cudart/linux-x86_64/cuda_cudart-linux-x86_64-12.8.90-archive.tar.xz
    /srv/nvidia/cudnn/redist/redistrib_9.13.0.json
    /srv/nvidia/cudnn/redist/cudnn/linux-x86_64/cudnn-linux-x86_64-9.13.0.50_cuda12-archive.tar.xz

Serve the folder with any web server and set cuda_redist_base_url to
<url>/cuda/redist and cudnn_redist_base_url to <url>/cudnn/redist. Which wheel
carries which component is data: tools/redist_mirror.json. Archives are
reproducible (sorted members, fixed times and owners), so rebuilding a mirror
gives the same sha256. Wheels come from --wheels when present there, else from
`pip download` (which follows the site's pip configuration).
"""

from __future__ import absolute_import, division, print_function

import argparse
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PLATFORM = "linux-x86_64"
EPOCH = 1577836800  # fixed member time: archives are reproducible
# What the map may hold: every one of these ends up in a file name, a URL or a pip argument.
VERSION_RE = re.compile(r"^[0-9]{1,9}(?:\.[0-9]{1,9}){0,5}\Z")
COMPONENT_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}\Z")
WHEEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}==[0-9][0-9A-Za-z.+!-]{0,49}\Z")
ROOT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\Z")
MAJOR_RE = re.compile(r"^[0-9]{1,3}\Z")


def log(message):
    sys.stderr.write(message + "\n")


def _check(value, pattern, where, what):
    if not isinstance(value, str) or not pattern.match(value):
        raise SystemExit("%s: %s %r is not allowed there (it becomes a file name, URL or pip argument); "
                         "nothing was built" % (where, what, value))
    return value


def check_table(table, source):
    """Refuse a map whose labels, names, versions, wheels or roots would steer paths, URLs or pip."""
    if not isinstance(table, dict):
        raise SystemExit("%s is not a JSON object; nothing was built" % source)
    for product in ("cuda", "cudnn"):
        releases = table.get(product)
        if not isinstance(releases, dict):
            raise SystemExit("%s has no %s object; nothing was built" % (source, product))
        for label, release in releases.items():
            where = "%s %s:%s" % (source, product, label)
            _check(label, VERSION_RE, where, "release label")
            if not isinstance(release, dict):
                raise SystemExit("%s is not an object; nothing was built" % where)
            if product == "cuda":
                parts = sorted((release.get("components") or {}).items())
                for name, comp in parts:
                    _check(name, COMPONENT_RE, where, "component name")
                    _check(comp.get("version"), VERSION_RE, "%s %s" % (where, name), "version")
                    _check(comp.get("wheel"), WHEEL_RE, "%s %s" % (where, name), "wheel")
                    _check(comp.get("root"), ROOT_RE, "%s %s" % (where, name), "root")
            else:
                _check(release.get("version"), VERSION_RE, where, "version")
                for major, variant in sorted((release.get("variants") or {}).items()):
                    _check(major, MAJOR_RE, where, "CUDA major")
                    _check(variant.get("wheel"), WHEEL_RE, "%s cuda%s" % (where, major), "wheel")
                    _check(variant.get("root"), ROOT_RE, "%s cuda%s" % (where, major), "root")
    return table


def _plain_member(name):
    """Whether a wheel member name is a plain relative path (no leading /, no '..', no backslash)."""
    parts = name.split("/")
    return not name.startswith("/") and "\\" not in name and ".." not in parts and "" not in parts[:-1]


def wheel_file(spec, wheel_dir):
    name, version = spec.split("==")
    stem = "%s-%s-" % (name.replace("-", "_"), version)
    found = sorted(glob.glob(os.path.join(wheel_dir, stem + "*.whl")))
    if not found:
        log("downloading %s" % spec)
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               "--only-binary", ":all:", "--dest", wheel_dir, spec])
        found = sorted(glob.glob(os.path.join(wheel_dir, stem + "*.whl")))
    if not found:
        raise SystemExit("pip did not leave a wheel for %s in %s" % (spec, wheel_dir))
    return found[0]


def _info(name, size=0, kind=tarfile.REGTYPE, mode=0o644, linkname=""):
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode, info.linkname = size, kind, mode, linkname
    info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
    return info


def archive_members(wheel, root):
    """(path, bytes, mode) under the wheel's root folder, plus the licence; sorted."""
    members = []
    try:
        zipped = zipfile.ZipFile(wheel)
    except (zipfile.BadZipfile, IOError, OSError) as exc:
        raise SystemExit("%s is not a wheel (%s): remove it and run again; nothing was built" % (wheel, exc))
    try:
        with zipped:
            for entry in zipped.infolist():
                if not _plain_member(entry.filename):
                    raise SystemExit("%s: member %r is not a plain relative path (absolute, '..' or backslash); "
                                     "nothing was built from it" % (wheel, entry.filename))
                if entry.filename.endswith("/") or entry.filename.endswith("__init__.py") or "__pycache__" in entry.filename:
                    continue
                if entry.filename.startswith(root + "/"):
                    mode = (entry.external_attr >> 16) & 0o777 or 0o644
                    if "/bin/" in entry.filename and not entry.filename.endswith((".profile", ".stub")):
                        mode = 0o755
                    members.append((entry.filename[len(root) + 1:], zipped.read(entry), mode))
                elif entry.filename.endswith(".dist-info/licenses/License.txt") or \
                        entry.filename.endswith(".dist-info/License.txt"):
                    members.append(("LICENSE", zipped.read(entry), 0o644))
    except (zipfile.BadZipfile, zlib.error, EOFError, IOError, OSError) as exc:
        raise SystemExit("%s is damaged (%s): remove it and run again; nothing was built from it" % (wheel, exc))
    return sorted(members)


def write_archive(path, top, members):
    """A .tar.xz with one top folder, as NVIDIA's are, with libX.so links for libX.so.N files."""
    tmp = path + ".tmp"
    raw = tempfile.NamedTemporaryFile(suffix=".tar", delete=False, dir=os.path.dirname(path))
    try:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
            dirs = set()
            for name, _data, _mode in members:
                parts = name.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    dirs.add("/".join(parts[:depth]))
            tar.addfile(_info(top, kind=tarfile.DIRTYPE, mode=0o755))
            for directory in sorted(dirs):
                tar.addfile(_info(top + "/" + directory, kind=tarfile.DIRTYPE, mode=0o755))
            names = set(m[0] for m in members)
            for name, data, mode in members:
                tar.addfile(_info(top + "/" + name, size=len(data), mode=mode), io.BytesIO(data))
                base = os.path.basename(name)
                if "/lib/" in "/" + name and ".so." in base:
                    link = name.split(".so.")[0] + ".so"
                    if link not in names:
                        names.add(link)
                        tar.addfile(_info(top + "/" + link, kind=tarfile.SYMTYPE, mode=0o777, linkname=base))
        raw.close()
        xz = shutil.which("xz")
        with open(tmp, "wb") as out:
            if xz:
                subprocess.check_call([xz, "--threads=0", "-1", "--stdout", raw.name], stdout=out)
            else:
                import lzma
                with open(raw.name, "rb") as source:
                    out.write(lzma.compress(source.read(), preset=1))
        os.rename(tmp, path)
    finally:
        os.unlink(raw.name)
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_entry(mirror_base, path):
    digest_sha, digest_md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest_sha.update(block)
            digest_md5.update(block)
    return {
        "relative_path": os.path.relpath(path, mirror_base),
        "sha256": digest_sha.hexdigest(),
        "md5": digest_md5.hexdigest(),
        "size": str(os.path.getsize(path)),
    }


def build_archive(base, component_dir, stem, wheel, root):
    folder = os.path.join(base, component_dir, PLATFORM)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, stem + "-archive.tar.xz")
    if not os.path.exists(path):
        log("building %s" % os.path.relpath(path, base))
        members = archive_members(wheel, root)
        if not members:
            raise SystemExit("%s has nothing under %s/" % (os.path.basename(wheel), root))
        write_archive(path, stem + "-archive", members)
    return file_entry(base, path)


def build_cuda(out, label, release, wheel_dir):
    base = os.path.join(out, "cuda", "redist")
    manifest = {"release_date": release["release_date"], "release_label": label, "release_product": "cuda"}
    for name, comp in sorted(release["components"].items()):
        wheel = wheel_file(comp["wheel"], wheel_dir)
        stem = "%s-%s-%s" % (name, PLATFORM, comp["version"])
        manifest[name] = {"name": comp["name"], "license": comp["license"],
                          "license_path": "%s/LICENSE.txt" % name, "version": comp["version"],
                          PLATFORM: build_archive(base, name, stem, wheel, comp["root"])}
    write_manifest(base, label, manifest)


def build_cudnn(out, label, release, wheel_dir):
    base = os.path.join(out, "cudnn", "redist")
    entry = {"name": "NVIDIA CUDA Deep Neural Network library", "license": "cudnn",
             "license_path": "cudnn/LICENSE.txt", "version": release["version"], PLATFORM: {},
             "cuda_variant": sorted(release["variants"])}
    for major, variant in sorted(release["variants"].items()):
        wheel = wheel_file(variant["wheel"], wheel_dir)
        stem = "cudnn-%s-%s_cuda%s" % (PLATFORM, release["version"], major)
        entry[PLATFORM]["cuda" + major] = build_archive(base, "cudnn", stem, wheel, variant["root"])
    manifest = {"release_date": release["release_date"], "release_label": label, "release_product": "cudnn",
                "cudnn": entry}
    write_manifest(base, label, manifest)


def write_manifest(base, label, manifest):
    path = os.path.join(base, "redistrib_%s.json" % label)
    with open(path + ".tmp", "w") as handle:
        json.dump(manifest, handle, indent=4)
        handle.write("\n")
    os.rename(path + ".tmp", path)
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(base, "redistrib_*.json")))
    links = "\n".join('<a href="%s">%s</a><br>' % (n, n) for n in names)
    with open(os.path.join(base, "index.html"), "w") as handle:
        handle.write("<html><body>\n%s\n</body></html>\n" % links)
    log("wrote %s" % path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--out", required=True, help="mirror folder (cuda/redist and cudnn/redist go under it)")
    parser.add_argument("--wheels", help="folder of wheels to use and to download into (default: OUT/.wheels)")
    parser.add_argument("--map", default=os.path.join(HERE, "redist_mirror.json"), help="releases and their wheels")
    parser.add_argument("--release", action="append", metavar="PRODUCT:LABEL",
                        help="cuda:12.8.1 or cudnn:9.13.0 (repeatable; default: every release in the map)")
    args = parser.parse_args(argv)
    try:
        with open(args.map, "rb") as handle:
            table = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError) as exc:
        raise SystemExit("%s cannot be read as UTF-8 JSON: %s; nothing was built" % (args.map, exc))
    check_table(table, args.map)
    wanted = args.release or ["%s:%s" % (product, label) for product in ("cuda", "cudnn")
                              for label in sorted(table[product])]
    wheel_dir = args.wheels or os.path.join(args.out, ".wheels")
    os.makedirs(wheel_dir, exist_ok=True)
    for item in wanted:
        product, _sep, label = item.partition(":")
        release = table.get(product, {}).get(label)
        if release is None:
            raise SystemExit("%s is not in %s; it has: %s" % (item, args.map, ", ".join(
                "%s:%s" % (p, r) for p in ("cuda", "cudnn") for r in sorted(table[p]))))
        (build_cuda if product == "cuda" else build_cudnn)(args.out, label, release, wheel_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
