# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way this collection replaces a file on a host, standard library only.

``write`` puts the new bytes in a temporary file beside the file they replace and renames it over that file:
readers see the old bytes or the new ones, never a mix. A path that is a symlink keeps being a symlink; the
change goes to the file it points to, as ``sed -i --follow-symlinks`` and editors do. Before anything is
created, ``check_writable`` says why the rename would fail (a read-only filesystem, an immutable or
append-only file or folder, a link loop): check mode calls it too, so it fails where the real run would. A
failure leaves no temporary file behind and the old file as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import stat
import struct
import tempfile

try:
    import fcntl
except ImportError:  # pragma: no cover - not a Linux host
    fcntl = None

TEMP_PREFIX = ".dlops-"
# linux/fs.h: FS_IOC_GETFLAGS and the two flags that stop a rename or an unlink.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL = 0x00000010
_FS_APPEND_FL = 0x00000020


class FileWriteError(Exception):
    """The file cannot be replaced; the message names it and says why. Nothing was changed."""


MAX_LINKS = 40  # as the kernel's ELOOP


def follow(path, check_owner=True):
    """``path`` with every symlink followed, as the kernel follows them (no recursion), each link checked on the way.

    A link that another user owns, in a folder other users can write to (such as /tmp), is refused unless that
    folder is its owner's: the rule of the kernel's fs.protected_symlinks, applied whatever the host's setting,
    so that nobody but root chooses what root changes (``check_owner`` false skips that, for trees the caller
    made itself). Parts that do not exist are kept as they are written, as realpath does.
    """
    # Not abspath: it would take ".." away before the links in front of it are followed.
    absolute = path if path.startswith("/") else os.path.join(os.getcwd(), path)
    parts = [part for part in absolute.split("/") if part][::-1]
    current, links = "/", 0
    while parts:
        part = parts.pop()
        if part == ".":
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            current = candidate
            continue
        if not stat.S_ISLNK(st.st_mode):
            current = candidate
            continue
        links += 1
        if links > MAX_LINKS:
            raise FileWriteError("%s: its symlinks form a loop or a chain of more than %d links (the kernel refuses "
                                 "it with ELOOP too); point the link at a file, then run again" % (path, MAX_LINKS))
        if check_owner:
            _check_link_owner(path, candidate, st, current)
        target = os.readlink(candidate)
        if target.startswith("/"):
            current = "/"
        parts.extend([piece for piece in target.split("/") if piece][::-1])
    return current


def _check_link_owner(path, link, link_stat, folder):
    try:
        folder_stat = os.stat(folder)
    except OSError:
        return
    if not folder_stat.st_mode & stat.S_IWOTH:
        return
    if link_stat.st_uid in (os.geteuid(), folder_stat.st_uid):
        return
    raise FileWriteError("%s leads through the symlink %s, owned by uid %d in %s, a folder every user can write to: "
                         "that user would choose what is changed; remove the link or give it to root, then run "
                         "again; nothing was changed" % (path, link, link_stat.st_uid, folder))


def resolve(path):
    """The file that a write to ``path`` changes: ``path`` with every symlink followed (see ``follow``).

    A dangling link resolves to the file it would point to (which the write creates), when its folder exists. A
    link loop is refused.
    """
    real = follow(path)
    folder = os.path.dirname(real)
    if real != os.path.abspath(path) and not os.path.isdir(folder):
        raise FileWriteError("%s is a link to %s, whose folder %s does not exist (a filesystem not mounted?): "
                             "nothing was created; make the folder or change the link, then run again"
                             % (path, real, folder))
    if os.path.isdir(real):
        raise FileWriteError("%s is a folder (%s), not a file" % (path, real) if real != path
                             else "%s is a folder, not a file" % path)
    return real


def mounts(mountinfo="/proc/self/mountinfo"):
    """{mount point: (fstype, set of options, per-mount and super)} of what this process sees mounted.

    The mount point is field 5 of mountinfo, its octal escapes (\\040) decoded byte by byte, then as UTF-8 with
    the bytes that are not kept as they are (surrogateescape).
    """
    try:
        with open(mountinfo, "rb") as handle:
            data = handle.read()
    except (IOError, OSError):
        return {}
    found = {}
    for line in data.split(b"\n"):
        left, _sep, right = line.partition(b" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 6 or len(rest) < 3:
            continue
        point = re.sub(br"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), fields[4])
        options = set(fields[5].split(b",")) | set(rest[2].split(b","))
        found[point.decode("utf-8", "surrogateescape")] = (
            rest[0].decode("utf-8", "surrogateescape"), set(o.decode("utf-8", "surrogateescape") for o in options))
    return found


def mount_points(mountinfo="/proc/self/mountinfo"):
    """The mount points this process sees."""
    return set(mounts(mountinfo))


def read(path):
    """The bytes of the file ``path`` leads to, None when there is none."""
    try:
        # O_NONBLOCK: a FIFO put where a file belongs must not hang the run; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise FileWriteError("%s cannot be read: %s" % (path, exc.strerror or exc))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FileWriteError("%s is not a regular file (a device, FIFO or socket); nothing was read" % path)
        try:
            return handle.read()
        except (IOError, OSError) as exc:
            raise FileWriteError("%s cannot be read: %s" % (path, exc.strerror or exc))


def inode_flags(path):
    """The inode flags (chattr) of ``path``, 0 where the filesystem has none or it cannot be asked."""
    if fcntl is None:
        return 0
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return 0
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("l", 0))
        return struct.unpack("l", raw)[0]
    except (IOError, OSError):
        return 0
    finally:
        os.close(fd)


def _existing_folder(folder):
    """The nearest folder of ``folder`` (or itself) that exists."""
    while not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def check_writable(path):
    """Why ``path`` (a resolved path) could not be replaced, as a FileWriteError; None when it can.

    Reads only: the same answer in check mode as in the real run.
    """
    folder = os.path.dirname(path) or "."
    existing = _existing_folder(folder)
    try:
        read_only = bool(os.statvfs(existing).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        read_only = False
    if read_only:
        raise FileWriteError("%s is on a read-only filesystem (%s): remount it read-write, then run again; "
                             "nothing was changed" % (path, existing))
    if os.path.lexists(path) and path in mount_points():
        raise FileWriteError("%s is a mount point (a file bind-mounted there): a rename cannot replace it; change "
                             "the file mounted there, or unmount it, then run again; nothing was changed" % path)
    for what, target in (("file", path), ("folder", existing)):
        if what == "file" and not os.path.lexists(target):
            continue
        flags = inode_flags(target)
        for flag, word in ((_FS_IMMUTABLE_FL, "immutable"), (_FS_APPEND_FL, "append-only")):
            if flags & flag:
                raise FileWriteError("%s is %s (%s %s): run `chattr -%s %s` if it may be changed, then run "
                                     "again; nothing was changed" % (path, word, what, target,
                                                                     "i" if word == "immutable" else "a", target))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise FileWriteError("%s cannot be written: no write permission on %s; nothing was changed"
                             % (path, existing))
    return None


def _current_stat(path):
    try:
        return os.stat(path)
    except OSError:
        return None


def write(path, data, mode=None, prepare=None):
    """Replace the file ``path`` leads to with ``data`` (bytes); return the resolved path written.

    ``mode`` (an int) is the new file's mode; None keeps the mode of the file replaced, else 0644. The owner
    and group of the file replaced are kept. ``prepare(temp, target)``, when given, runs on the temporary
    file before the rename (a module sets the SELinux context there).
    """
    target = resolve(path)
    check_writable(target)
    folder = os.path.dirname(target) or "."
    old = _current_stat(target)
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise FileWriteError("%s is not a regular file; nothing was changed" % target)
    try:
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o755)
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    except OSError as exc:
        raise FileWriteError("%s cannot be written: %s; nothing was changed" % (target, exc.strerror or exc))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode if mode is not None else (stat.S_IMODE(old.st_mode) if old else 0o644))
        if old is not None and hasattr(os, "chown"):
            try:
                os.chown(temp, old.st_uid, old.st_gid)
            except OSError:
                pass  # not root: the file becomes the writer's, as any editor leaves it
        if prepare is not None:
            prepare(temp, target)
        os.rename(temp, target)
    except (IOError, OSError) as exc:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise FileWriteError("%s cannot be replaced: %s; it was left as it was" % (target, exc.strerror or exc))
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    fsync_dir(folder)
    return target


def remove(path):
    """Remove the file ``path`` (a link itself, not what it points to); False when there was none."""
    if not os.path.lexists(path):
        return False
    check_writable(os.path.abspath(path))
    try:
        os.unlink(path)
    except OSError as exc:
        raise FileWriteError("%s cannot be removed: %s" % (path, exc.strerror or exc))
    return True


def fsync_dir(path):
    """Make a rename in the folder ``path`` durable; a folder that cannot be opened is left to the kernel."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
