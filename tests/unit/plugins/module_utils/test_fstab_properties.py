"""Property tests: over generated fstabs, plan() owns its lines and nothing else.

Generated files mix comments, blanks, entries of 2 to 7 fields, LF, CRLF, lone
CRs, tabs, non-ASCII text and bytes that are not UTF-8. Whatever plan() accepts
comes back byte for byte outside the lines it owns; whatever it refuses is a
FstabError (the module then writes nothing), never another exception.
"""

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.dlops.gpu.plugins.module_utils import fstab

# Hypothesis shrinks what it draws but pays some milliseconds an example; the bulk test draws a seed and
# builds its files from it (no shrinking, the failing file is in the message) so that thousands run in seconds.
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
BULK = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FILES_PER_SEED = 20

TARGETS = ["/data", "/data/", "/data//", "/scratch", "/scratch/.", "/my\\040disk", "/tmp", "/tmp/", "/", "none", "/srv/caf\xc3\xa9"]
SOURCES = ["UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "/dev/disk/by-uuid/0B6F4C7E-2D2F-4C55-9A57-0F4F6F0F1A11",
           "LABEL=scratch", "tmpfs", "/dev/sda1", "PARTUUID=1234abcd-01", "#UUID=x"]
FSTYPES = ["ext4", "xfs", "tmpfs", "swap", "none"]
OPTIONS = ["defaults", "noatime", "relatime,errors=remount-ro", "nosuid,nodev,size=10%,mode=1777",
           "noatime,nofail,x-systemd.device-timeout=10s", "rw"]


def _entries():
    """Entry lines of 2 to 6 fields over the sources, targets, types and separators above (a few thousand)."""
    out = []
    seps = [b" ", b"\t", b"  \t"]
    for i, source in enumerate(SOURCES):
        for j, target in enumerate(TARGETS):
            for k, fstype in enumerate(FSTYPES):
                sep = seps[(i + j + k) % 3]
                fields = [source, target, fstype, OPTIONS[(i + k) % len(OPTIONS)], ["0", "1", "00"][j % 3], str(k % 3)]
                count = 2 + (i * 7 + j * 3 + k) % 5
                lead = [b"", b" ", b"\t"][(i + k) % 3]
                tail = b" \t" if (j + k) % 7 == 0 else b""
                out.append(lead + sep.join(f.encode("utf-8") for f in fields[:count]) + tail)
    return out


ENTRIES = _entries()
COMMENTS = [b"# /etc/fstab: static file system information.", b"  # indented", b"#UUID=x /data ext4 defaults 0 2",
            b"# caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", b"# Latin-1 caf\xe9 \xff\xfe", b"#\ttab\r inside", b"#"]
BLANKS = [b"", b" ", b"\t \t"]
line = st.one_of(
    st.sampled_from(ENTRIES), st.sampled_from(ENTRIES), st.sampled_from(COMMENTS), st.sampled_from(BLANKS),
    st.sampled_from(ENTRIES).map(lambda e: e + b"\rjunk after a lone CR"),
    st.binary(max_size=10).map(lambda b: b.replace(b"\n", b"")),
)
ending = st.sampled_from([b"\n", b"\n", b"\r\n"])


@st.composite
def fstab_file(draw):
    lines = draw(st.lists(st.tuples(line, ending), max_size=12))
    out = b"".join(body + end for body, end in lines)
    if draw(st.booleans()):
        out += draw(line)  # an unterminated last line
    return out


mount = st.fixed_dictionaries({
    "src": st.sampled_from(["UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "LABEL=scratch", "LABEL=my data"]),
    "path": st.sampled_from(["/data", "/data/", "/scratch", "/my disk", "/srv/new"]),
    "fstype": st.sampled_from(["ext4", "xfs"]),
    "opts": st.sampled_from([["defaults"], ["relatime", "inode64"], []]),
})
tmpfs = st.fixed_dictionaries({
    "path": st.sampled_from(["/tmp", "/tmp/", "/scratch"]),
    "size": st.sampled_from(["10%", "16G", "100%", "0", "101%", "10%x"]),
    "mode": st.sampled_from(["1777", 0o1777, "0700"]),
    "opts": st.sampled_from([["nosuid", "nodev"], []]),
})
request = st.fixed_dictionaries({
    "mounts": st.lists(mount, max_size=2),
    "noatime": st.lists(st.sampled_from(["/", "/data", "/scratch/", "/my disk", "/tmp", "/srv/caf\u00e9"]), max_size=2),
    "tmpfs": st.one_of(st.none(), tmpfs),
})


def split_keep(data):
    return re.findall(b"[^\n]*\n|[^\n]+\\Z", data)


def owned(raw_line, targets):
    parsed = fstab.parse(raw_line)
    return bool(parsed) and parsed[0]["target"] in targets


@SETTINGS
@given(fstab_file())
def test_no_request_changes_no_byte(data):
    assert fstab.plan(data) == (data, [])
    assert fstab.render(fstab.parse(data)) == fstab.decode(data)


@SETTINGS
@given(fstab_file(), request)
def test_only_owned_lines_change(data, req):
    check_plan(data, req)


def random_file(rnd):
    pools = [ENTRIES, ENTRIES, COMMENTS, BLANKS]
    out = []
    for dummy in range(rnd.randint(0, 12)):
        kind = rnd.randint(0, 5)
        if kind < 4:
            body = rnd.choice(pools[kind])
        elif kind == 4:
            body = rnd.choice(ENTRIES) + b"\rjunk after a lone CR"
        else:
            body = bytes(bytearray(rnd.randint(0, 255) for dummy in range(rnd.randint(0, 10)))).replace(b"\n", b"")
        out.append(body + rnd.choice([b"\n", b"\n", b"\r\n"]))
    if rnd.random() < 0.3:
        out.append(rnd.choice(ENTRIES + COMMENTS))
    return b"".join(out)


def random_request(rnd):
    def one_mount():
        return {"src": rnd.choice(["UUID=0b6f4c7e-2d2f-4c55-9a57-0f4f6f0f1a11", "LABEL=scratch", "LABEL=my data"]),
                "path": rnd.choice(["/data", "/data/", "/scratch", "/my disk", "/srv/new"]),
                "fstype": rnd.choice(["ext4", "xfs"]), "opts": rnd.choice([["defaults"], ["relatime", "inode64"], []])}
    tmp = None
    if rnd.random() < 0.5:
        tmp = {"path": rnd.choice(["/tmp", "/tmp/", "/scratch"]), "size": rnd.choice(["10%", "16G", "100%", "0", "101%"]),
               "mode": rnd.choice(["1777", 0o1777, "0700"]), "opts": rnd.choice([["nosuid", "nodev"], []])}
    return {"mounts": [one_mount() for dummy in range(rnd.randint(0, 2))],
            "noatime": rnd.sample(["/", "/data", "/scratch/", "/my disk", "/tmp", "/srv/caf\u00e9"], rnd.randint(0, 2)),
            "tmpfs": tmp}


@BULK
@given(st.randoms(use_true_random=False))
def test_only_owned_lines_change_in_bulk(rnd):
    for dummy in range(FILES_PER_SEED):
        data, req = random_file(rnd), random_request(rnd)
        try:
            check_plan(data, req)
        except AssertionError as exc:
            raise AssertionError("file %r, request %r: %s" % (data, req, exc))


def check_plan(data, req):
    """What plan() returns for ``data`` and the request ``req`` keeps every byte it does not own."""
    try:
        new, changes = fstab.plan(data, req["mounts"], req["noatime"], req["tmpfs"])
    except fstab.FstabError as exc:
        assert str(exc).endswith("nothing was changed")
        return
    if not changes:
        assert new == data
        return
    targets = set(change["target"] for change in changes)
    old_lines, new_lines = split_keep(data), split_keep(new)
    assert len(new_lines) == len(old_lines) + sum(1 for c in changes if c["action"] == "add")
    for index, (before, after) in enumerate(zip(old_lines, new_lines)):
        if before == after:
            continue
        if index == len(old_lines) - 1 and not before.endswith(b"\n") and after.startswith(before) \
                and after[len(before):] in (b"\n", b"\r\n"):
            continue  # an unterminated last line (a lone CR too) gets an ending before a line is added after it
        assert owned(before, targets) and owned(after, targets), (before, after)
        ending = b"\r\n" if before.endswith(b"\r\n") else b"\n" if before.endswith(b"\n") else b""
        assert after.endswith(ending)
    ending = b"\r\n" if old_lines and old_lines[0].endswith(b"\r\n") else b"\n"
    for added in new_lines[len(old_lines):]:
        assert owned(added, targets) and added.endswith(ending)
        assert ending == b"\r\n" or not added.endswith(b"\r\n")
    # The result is what the request asks for: a second run changes nothing.
    assert fstab.plan(new, req["mounts"], req["noatime"], req["tmpfs"]) == (new, [])
