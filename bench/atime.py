"""Read cost of atime updates on a dataset of small files.

Creates an ext4 filesystem in an image file, fills it with N small files (an
audio-clip-sized dataset), then for each mount option (strictatime, relatime,
noatime) and each round: mounts it, drops the page cache, reads every file and
syncs (the atime updates are written back at sync time, so they are counted).

Two epochs per round: epoch 1 reads files whose atime is older than their
mtime (what relatime updates, once a day), epoch 2 reads them again at once.
Prints the median time of each and the ratio to noatime.

Needs root (mount, losetup, drop_caches). Usage:
    sudo python3 bench/atime.py [--files 30000] [--rounds 3] [--size-kib 8]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

OPTIONS = ("strictatime", "relatime", "noatime")


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


def files_in(root):
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(dirpath, name)


def populate(root, count, size):
    payload = os.urandom(size)
    for i in range(count):
        folder = os.path.join(root, "clips", "%03d" % (i // 1000))
        if i % 1000 == 0:
            os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "%06d.wav" % i), "wb") as handle:
            handle.write(payload)


def age_atimes(paths):
    """Put each atime before its mtime, as for files not read since written."""
    for path in paths:
        st = os.stat(path)
        os.utime(path, ns=(st.st_mtime_ns - 3_600_000_000_000, st.st_mtime_ns))


def read_all(paths):
    start = time.perf_counter()
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += len(handle.read())
    os.sync()
    return time.perf_counter() - start, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-kib", type=int, default=8)
    parser.add_argument("--workdir", default="/var/tmp")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/atime.py needs root: it mounts a loop filesystem and drops the page cache")

    work = tempfile.mkdtemp(prefix="dlops-atime-", dir=args.workdir)
    image = os.path.join(work, "fs.img")
    mnt = os.path.join(work, "mnt")
    os.mkdir(mnt)
    size_mib = max(256, args.files * (args.size_kib + 4) // 1024 * 2)
    results = {(opt, epoch): [] for opt in OPTIONS for epoch in (1, 2)}
    try:
        run("truncate", "-s", "%dM" % size_mib, image)
        run("mkfs.ext4", "-q", "-F", image)
        run("mount", "-o", "loop,noatime", image, mnt)
        populate(mnt, args.files, args.size_kib * 1024)
        paths = sorted(files_in(mnt))
        run("umount", mnt)
        rel = [os.path.relpath(p, mnt) for p in paths]
        print("dataset: %d files of %d KiB on ext4 (loop), %d rounds, cold cache each epoch"
              % (len(rel), args.size_kib, args.rounds))
        for _round in range(args.rounds):
            for opt in OPTIONS:
                run("mount", "-o", "loop," + opt, image, mnt)
                try:
                    full = [os.path.join(mnt, p) for p in rel]
                    age_atimes(full)
                    for epoch in (1, 2):
                        drop_caches()
                        seconds, _bytes = read_all(full)
                        results[(opt, epoch)].append(seconds)
                finally:
                    run("umount", mnt)
    finally:
        subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL, check=False)
        for path in (image,):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(mnt)
        os.rmdir(work)

    print("%-12s %14s %9s %14s %9s" % ("mount", "epoch 1 (s)", "/noatime", "epoch 2 (s)", "/noatime"))
    base = {epoch: statistics.median(results[("noatime", epoch)]) for epoch in (1, 2)}
    for opt in OPTIONS:
        med = {epoch: statistics.median(results[(opt, epoch)]) for epoch in (1, 2)}
        print("%-12s %14.3f %9.2f %14.3f %9.2f" % (
            opt, med[1], med[1] / base[1], med[2], med[2] / base[2]))


if __name__ == "__main__":
    main()
