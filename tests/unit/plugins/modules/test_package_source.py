"""package_source's main(), end to end on keys made by the real gpg: the download replaced by the bytes a server
would send, the keyring and the source written in a temporary tree that is compared before and after every refusal.

The key's tests read the key's part of the result (run() flattens it); the source's tests, at the end, the whole."""

import io
import json
import os
import re
from urllib.error import HTTPError

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.dlops.gpu.plugins.module_utils import atomic_file
from ansible_collections.dlops.gpu.plugins.module_utils import openpgp
from ansible_collections.dlops.gpu.plugins.module_utils import repo_keyring
from ansible_collections.dlops.gpu.plugins.modules import package_source
# keys is a fixture: imported for pytest, which finds it by name
from ..module_utils.gpg_keys import keys  # noqa: F401 pylint: disable=unused-import

URL = "https://vendor.example.invalid/repo/key.pub"


class Server:
    """What open_url answers; counts the downloads."""

    def __init__(self, data=None, error=None):
        self.data, self.error, self.calls = data, error, 0

    def __call__(self, url, validate_certs=True, timeout=30):
        self.calls += 1
        assert url == URL and validate_certs is True
        if self.error:
            raise self.error
        return io.BytesIO(self.data)


def call(monkeypatch, capsys, server, check_mode=False, diff=True, **args):
    monkeypatch.setattr(repo_keyring, "open_url", server)
    args = dict(dict(name="vendor", format="deb822", uris=["https://vendor.example.invalid/repo/"], suites=["/"]),
                _ansible_check_mode=check_mode, _ansible_diff=diff, **args)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            package_source.main()
    return json.loads(capsys.readouterr().out)


def run(monkeypatch, capsys, server, dest, check_mode=False, diff=True, fingerprint=None):
    """The key's part of the result, flat: changed and diff are the keyring's."""
    source = os.path.join(os.path.dirname(str(dest)), "vendor.sources")
    result = call(monkeypatch, capsys, server, check_mode, diff, keyring=str(dest), key_url=URL,
                  key_fingerprint=fingerprint, dest=source)
    flat = dict(result.pop("key", {}), **result)
    diffs = [d for d in flat.pop("diff", []) if d["after_header"] == str(dest)]
    if "failed" not in flat:
        flat["changed"] = flat["key_changed"]
    if diffs:
        flat["diff"] = diffs[0]
    return flat


def snapshot(root):
    """Every path under root with its mode and bytes (or link target)."""
    found = {}
    for folder, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            content = os.readlink(path) if os.path.islink(path) else (
                open(path, "rb").read() if os.path.isfile(path) else None)
            found[os.path.relpath(path, str(root))] = (info.st_mode, content)
    return found


def gpg_show(keys, data):
    return keys["gpg"].show(data)


def test_a_bundle_gives_only_the_named_key_and_the_second_run_changes_nothing(keys, monkeypatch, capsys, tmp_path):
    gpg = keys["gpg"]
    bundle = gpg.export(keys["first"], keys["wanted"], keys["last"], armor=True)
    dest = tmp_path / "etc" / "apt" / "keyrings" / "vendor.gpg"

    checked = run(monkeypatch, capsys, Server(bundle), dest, check_mode=True, fingerprint=keys["wanted"])
    assert checked["changed"] is True and not dest.exists() and not dest.parent.exists()
    assert "# dropped from %s: primary %s (another key than the one named)" % (URL, keys["first"]) in checked["diff"]["after"]
    assert "# dropped from %s: primary %s" % (URL, keys["last"]) in checked["diff"]["after"]

    server = Server(bundle)
    first = run(monkeypatch, capsys, server, dest, fingerprint=keys["wanted"].lower())
    assert first["changed"] is True and first["fingerprints"] == [keys["wanted"]] and server.calls == 1
    assert first["diff"] == checked["diff"]
    assert gpg_show(keys, dest.read_bytes()) == {"primary": [keys["wanted"]], "subkeys": []}
    assert dest.read_bytes() == gpg.export(keys["wanted"])
    assert oct(dest.stat().st_mode & 0o7777) == "0o644"

    again = Server(error=AssertionError("a keyring that is already right is not downloaded again"))
    second = run(monkeypatch, capsys, again, dest, fingerprint=keys["wanted"])
    assert second["changed"] is False and second["downloaded"] is False and again.calls == 0
    checked_again = run(monkeypatch, capsys, again, dest, check_mode=True, fingerprint=keys["wanted"])
    assert checked_again["changed"] is False and "diff" not in checked_again


def test_an_installed_keyring_with_extra_keys_is_rewritten(keys, monkeypatch, capsys, tmp_path):
    gpg = keys["gpg"]
    dest = tmp_path / "vendor.gpg"
    dest.write_bytes(gpg.export(keys["wanted"], keys["last"]))  # what the module used to leave in place
    result = run(monkeypatch, capsys, Server(gpg.export(keys["wanted"])), dest, fingerprint=keys["wanted"])
    assert result["changed"] is True and result["downloaded"] is True
    assert "primary %s (Last other <last@example.invalid>)" % keys["last"] in result["diff"]["before"]
    assert keys["last"] not in result["diff"]["after"]
    assert gpg_show(keys, dest.read_bytes())["primary"] == [keys["wanted"]]


def test_an_installed_armored_keyring_is_rewritten_binary(keys, monkeypatch, capsys, tmp_path):
    gpg = keys["gpg"]
    dest = tmp_path / "vendor.gpg"
    dest.write_bytes(gpg.export(keys["wanted"], armor=True))
    result = run(monkeypatch, capsys, Server(gpg.export(keys["wanted"], armor=True)), dest, fingerprint=keys["wanted"])
    assert result["changed"] is True and dest.read_bytes() == gpg.export(keys["wanted"])


def test_a_symlinked_dest_has_its_target_written(keys, monkeypatch, capsys, tmp_path):
    target = tmp_path / "shared" / "vendor.gpg"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "vendor.gpg"
    link.symlink_to(target)
    result = run(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), link, fingerprint=keys["wanted"])
    assert result["changed"] is True and link.is_symlink() and os.readlink(str(link)) == str(target)
    assert target.read_bytes() == keys["gpg"].export(keys["wanted"])
    assert "not a usable keyring" in result["diff"]["before"]


@pytest.mark.parametrize("case, message", [
    ("expired", "the key at %s cannot be trusted for {dest}: the key {expired} expired on 2020-01-02 00:00:00 UTC"),
    ("revoked", "the key at %s cannot be trusted for {dest}: the key {revoked} is revoked"),
    ("secret", "the key at %s cannot be trusted for {dest}: it holds a secret key \\(packet at byte"),
    ("other", "the key at %s cannot be trusted for {dest}: it holds the keys {first}, {last}, not {wanted}"),
    ("html", "the key at %s cannot be trusted for {dest}: it is neither a binary OpenPGP key"),
    ("crc", "the key at %s cannot be trusted for {dest}: the armor's checksum \\(line \\d+\\) does not match"),
    ("truncated", "the key at %s cannot be trusted for {dest}: the key is truncated"),
    ("download", "cannot download the key from %s: HTTP Error 404: Not Found; nothing was changed"),
    ("huge", "%s is larger than 4194304 bytes"),
    ("fingerprint", "fingerprint 'EB69 3B30' is not a 40 or 64 digit hex fingerprint"),
    ("character", "fingerprint has a character that is not a hex digit: 'G' .*, in fingerprint 'G{wanted}'; nothing was "
                  "changed"),
    ("graft", "the key at %s cannot be trusted for {dest}: the key {expired} expired on 2020-01-02 00:00:00 UTC"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_refusals_say_why_and_change_nothing(keys, monkeypatch, capsys, tmp_path, case, message, check_mode):
    gpg = keys["gpg"]
    wanted = {"expired": keys["expired"], "revoked": keys["revoked"], "graft": keys["expired"]}.get(case, keys["wanted"])
    armored = gpg.export(keys["wanted"], armor=True)
    lines = armored.split(b"\n")
    body = next(i for i, line in enumerate(lines) if len(line) == 64)
    lines[body] = (b"B" if lines[body][:1] != b"B" else b"C") + lines[body][1:]
    server = {
        "expired": Server(gpg.export(keys["expired"])),
        "revoked": Server(gpg.export(keys["first"], keys["revoked"])),
        "secret": Server(gpg.export(keys["wanted"]) + gpg.export_secret(keys["wanted"])),
        "other": Server(gpg.export(keys["first"], keys["last"])),
        "html": Server(b"<html><body>Moved</body></html>"),
        "crc": Server(b"\n".join(lines)),
        "truncated": Server(gpg.export(keys["wanted"])[:-7]),
        "download": Server(error=HTTPError(URL, 404, "Not Found", {}, None)),
        "huge": Server(b"\x99" * (repo_keyring.MAX_KEY_BYTES + 1)),
        "fingerprint": Server(error=AssertionError("not downloaded")),
        "character": Server(error=AssertionError("not downloaded")),
        # the expired key followed by the user ID self-signature of another key (valid, but not its own)
        "graft": Server(gpg.export(keys["expired"]) + [p.raw for p in openpgp.packets(gpg.export(keys["first"]))][2]),
    }[case]
    dest = tmp_path / "keyrings" / "vendor.gpg"
    dest.parent.mkdir()
    dest.write_bytes(gpg.export(keys["first"]))  # some older keyring: must stay as it is
    before = snapshot(tmp_path)
    result = run(monkeypatch, capsys, server, dest, check_mode=check_mode,
                 fingerprint={"fingerprint": "EB69 3B30", "character": "G" + wanted}.get(case, wanted))
    assert result["failed"] is True
    expected = (message % URL if "%s" in message else message).format(dest=dest, **{k: v for k, v in keys.items() if k != "gpg"})
    assert re.search(expected, result["msg"]), result["msg"]
    assert result["msg"].endswith("nothing was changed") or result["msg"].endswith("nothing was trusted or changed")
    assert "Traceback" not in json.dumps(result)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_immutable_keyring_is_refused_in_check_mode_too(keys, monkeypatch, capsys, tmp_path, check_mode):
    dest = tmp_path / "vendor.gpg"
    dest.write_bytes(b"old keyring")
    monkeypatch.setattr(atomic_file, "inode_flags", lambda path: atomic_file._FS_IMMUTABLE_FL if path == str(dest) else 0)
    before = snapshot(tmp_path)
    result = run(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), dest, check_mode=check_mode,
                 fingerprint=keys["wanted"])
    assert result["failed"] is True
    assert result["msg"] == ("%s is immutable (file %s): run `chattr -i %s` if it may be changed, then run again; nothing "
                             "was changed" % (dest, dest, dest))
    assert snapshot(tmp_path) == before


def test_a_dest_that_is_a_folder_is_refused(keys, monkeypatch, capsys, tmp_path):
    dest = tmp_path / "vendor.gpg"
    dest.mkdir()
    before = snapshot(tmp_path)
    result = run(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), dest, fingerprint=keys["wanted"])
    assert result["failed"] is True and result["msg"] == "%s is a folder, not a file; nothing was changed" % dest
    assert snapshot(tmp_path) == before


def test_dropped_subkeys_are_reported(keys, monkeypatch, capsys, tmp_path):
    dest = tmp_path / "vendor.gpg"
    result = run(monkeypatch, capsys, Server(keys["gpg"].export(keys["with_subkeys"])), dest, fingerprint=keys["with_subkeys"])
    assert result["subkeys"] == [keys["sub_good"]]
    assert {item["fingerprint"] for item in result["dropped"]} == {keys["sub_expired"], keys["sub_revoked"]}
    assert "# dropped from %s: subkey %s (revoked (no reason given))" % (URL, keys["sub_revoked"]) in result["diff"]["after"]
    assert gpg_show(keys, dest.read_bytes())["subkeys"] == [keys["sub_good"]]


def test_a_fingerprint_with_0x_and_colons_is_accepted(keys, monkeypatch, capsys, tmp_path):
    dest = tmp_path / "vendor.gpg"
    written = "0x" + ":".join(keys["wanted"][i:i + 4] for i in range(0, 40, 4)).lower()
    result = run(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), dest, fingerprint=written)
    assert result["changed"] is True and result["fingerprints"] == [keys["wanted"]]
    assert dest.read_bytes() == keys["gpg"].export(keys["wanted"])


def test_a_grafted_subkey_and_a_third_party_certification_are_reported_and_not_written(keys, monkeypatch, capsys, tmp_path):
    gpg = keys["gpg"]
    theirs = openpgp.packets(gpg.export(keys["with_subkeys"]))
    index = [i for i, p in enumerate(theirs) if p.tag == openpgp.PUBLIC_SUBKEY][-1]
    dest = tmp_path / "vendor.gpg"
    data = gpg.export(keys["rsa"]) + theirs[index].raw + theirs[index + 1].raw
    result = run(monkeypatch, capsys, Server(data), dest, fingerprint=keys["rsa"])
    assert result["subkeys"] == [keys["rsa_sub"]]
    assert dest.read_bytes() == keys["rsa_export"]
    assert ("# dropped from %s: subkey %s (binding signature does not verify)" % (URL, keys["sub_good"])
            in result["diff"]["after"])
    assert ("# dropped from %s: signature %s (a certification (type 0x10) by another key (issuer %s)"
            % (URL, keys["rsa"], keys["first"]) in result["diff"]["after"])


def test_a_deb822_source_and_its_key_are_written_together_and_check_mode_predicts_both(
        keys, monkeypatch, capsys, tmp_path):
    keyring, source = tmp_path / "keyrings" / "vendor.gpg", tmp_path / "sources.list.d" / "vendor.sources"
    args = dict(keyring=str(keyring), key_url=URL, key_fingerprint=keys["wanted"], dest=str(source),
                description="NVIDIA's repository (managed)")
    server = Server(keys["gpg"].export(keys["wanted"]))
    checked = call(monkeypatch, capsys, server, check_mode=True, **args)
    assert (checked["changed"], checked["key_changed"], checked["source_changed"]) == (True, True, True)
    assert not keyring.exists() and not source.exists() and checked["created"] == []
    real = call(monkeypatch, capsys, server, **args)
    assert real["created"] == [str(keyring), str(source)]
    assert real["diff"] == checked["diff"] and [d["after_header"] for d in real["diff"]] == [str(keyring), str(source)]
    assert source.read_text() == ("# Managed by dlops.gpu: NVIDIA's repository (managed)\nTypes: deb\n"
                                  "URIs: https://vendor.example.invalid/repo/\nSuites: /\nSigned-By: %s\n" % keyring)
    assert oct(source.stat().st_mode & 0o7777) == "0o644"
    again = call(monkeypatch, capsys, Server(error=AssertionError("not downloaded again")), **args)
    assert (again["changed"], again["diff"], again["created"]) == (False, [], [])
    args["description"] = "NVIDIA's repository (edited)"
    edited = call(monkeypatch, capsys, Server(error=AssertionError("not downloaded again")), **args)
    assert edited["source_changed"] and edited["created"] == []


def test_a_yum_repository_trusts_the_keyring_through_gpgkey(keys, monkeypatch, capsys, tmp_path):
    keyring, repo = tmp_path / "rpm-gpg" / "vendor.gpg", tmp_path / "yum.repos.d" / "vendor.repo"
    result = call(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), format="yum", suites=[],
                  keyring=str(keyring), key_url=URL, key_fingerprint=keys["wanted"], dest=str(repo),
                  repo_gpgcheck=True, gpgcheck=False, description="NVIDIA container toolkit")
    assert result["changed"] is True
    assert repo.read_text() == ("# Managed by dlops.gpu\n[vendor]\nname=NVIDIA container toolkit\n"
                                "baseurl=https://vendor.example.invalid/repo/\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=1\n"
                                "gpgkey=file://%s\nsslverify=1\n" % keyring)


def test_a_source_trusting_a_distribution_keyring_writes_no_key_and_needs_the_keyring_there(
        keys, monkeypatch, capsys, tmp_path):
    keyring, source = tmp_path / "debian-archive-keyring.gpg", tmp_path / "nonfree.sources"
    args = dict(keyring=str(keyring), dest=str(source), suites=["trixie", "trixie-updates"],
                components=["contrib", "non-free", "non-free-firmware"], uris=["http://deb.example.invalid/debian"])
    missing = call(monkeypatch, capsys, Server(error=AssertionError("no key to fetch")), **args)
    assert missing["failed"] and missing["msg"].startswith("keyring %s does not exist" % keyring)
    assert not source.exists()
    keyring.write_bytes(b"the distribution's")
    result = call(monkeypatch, capsys, Server(error=AssertionError("no key to fetch")), **args)
    assert (result["key_changed"], result["source_changed"], "key" in result) == (False, True, False)
    assert "Suites: trixie trixie-updates\nComponents: contrib non-free non-free-firmware\n" in source.read_text()
    assert keyring.read_bytes() == b"the distribution's"


def test_a_symlinked_source_has_its_target_written(keys, monkeypatch, capsys, tmp_path):
    (tmp_path / "keyring.gpg").write_bytes(b"k")
    target, link = tmp_path / "real" / "vendor.sources", tmp_path / "vendor.sources"
    target.parent.mkdir()
    target.write_text("old\n")
    link.symlink_to(target)
    result = call(monkeypatch, capsys, None, keyring=str(tmp_path / "keyring.gpg"), dest=str(link))
    assert result["source_changed"] and link.is_symlink() and target.read_text().startswith("# Managed by dlops.gpu")
    assert result["diff"][0]["before"] == "old\n"


@pytest.mark.parametrize("field, value, words", [
    ("description", "x\nTrusted: yes", "description 'x\\nTrusted: yes' must be one line"),
    ("description", u"x\u2028Trusted: yes", "must be one line"),
    ("description", u"x\x85gpgcheck=0", "must be one line"),
    ("dest", "/etc/apt/sources.list.d/vendor.list", "ending in .sources, which apt reads"),
    ("suites", ["/\nTrusted: yes"], "suite '/\\nTrusted: yes' must be / or a word"),
    ("components", ["main contrib"], "component 'main contrib' must be a word"),
    ("uris", ["https://a.example.invalid/ [trusted=yes]"], "must be an http://, https:// or file:// URI"),
    ("uris", ["ftp://a.example.invalid/"], "must be an http://, https:// or file:// URI"),
    ("uris", [], "uris [] must list at least one URI"),
    ("suites", [], "suites [] must list at least one suite"),
    ("name", "../../etc/apt/trusted", "name '../../etc/apt/trusted' must be letters, digits"),
    ("keyring", "/etc/apt/keyrings/a b.gpg", "keyring '/etc/apt/keyrings/a b.gpg' must be an absolute path"),
    ("keyring", "/etc/apt/keyrings/../../tmp/k.gpg", "between slashes, without . or .. components"),
    ("dest", "/etc/apt/sources.list.d/../../../tmp/x.sources", "ending in .sources, which apt reads"),
    ("dest", "/etc/apt/sources.list.d/.sources", "whose file name is letters, digits and _ . -"),
    ("dest", "/etc/apt/sources.list.d/a+b.sources", "whose file name is letters, digits and _ . -"),
])
def test_a_field_that_would_add_a_line_or_another_file_is_refused_with_nothing_written(keys, monkeypatch, capsys,
                                                                                       tmp_path, field, value, words):
    args = dict(keyring=str(tmp_path / "keyrings" / "vendor.gpg"), key_url=URL, key_fingerprint=keys["wanted"],
                dest=str(tmp_path / "vendor.sources"))
    args[field] = value
    before = snapshot(tmp_path)
    result = call(monkeypatch, capsys, Server(error=AssertionError("refused before any download")), **args)
    assert result["failed"] and words in result["msg"] and result["msg"].endswith("nothing was changed"), result
    assert snapshot(tmp_path) == before


def test_a_source_that_cannot_be_written_takes_the_keyring_it_created_off_again(keys, monkeypatch, capsys, tmp_path):
    keyring, source = tmp_path / "keyrings" / "vendor.gpg", tmp_path / "sources.list.d" / "vendor.sources"
    real_write = atomic_file.write

    def write(path, data, **kwargs):
        if path == str(source):
            raise atomic_file.FileWriteError("cannot write %s: disk full; nothing was changed" % path)
        return real_write(path, data, **kwargs)

    monkeypatch.setattr(atomic_file, "write", write)
    (tmp_path / "keyrings").mkdir()
    before = snapshot(tmp_path)
    result = call(monkeypatch, capsys, Server(keys["gpg"].export(keys["wanted"])), keyring=str(keyring), key_url=URL,
                  key_fingerprint=keys["wanted"], dest=str(source))
    assert result["failed"] and "disk full" in result["msg"] and "keyring written before it was taken off" in result["msg"]
    assert snapshot(tmp_path) == before
