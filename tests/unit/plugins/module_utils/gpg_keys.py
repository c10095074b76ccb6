"""Real keys made by the real gpg for the repository-key tests, in a temporary GNUPGHOME (a session fixture).

Every key is made once per test session (ed25519 and ECDSA: a few milliseconds each, RSA 2048 and DSA 2048: a
fraction of a second) and exported; the tests read the exported bytes. `keys` skips the tests that need it, saying so, only when gpg is not installed.
"""

import os
import shutil
import subprocess

import pytest

GPG = shutil.which("gpg")
GPGV = shutil.which("gpgv")
PAST = "20200101T000000!"  # gpg's --faked-system-time, frozen: keys made then with a 1 day expiry have expired


class Gpg:
    def __init__(self, home):
        self.home = str(home)
        os.chmod(self.home, 0o700)

    def run(self, *args, **kwargs):
        env = dict(os.environ, GNUPGHOME=self.home, LC_ALL="C")
        result = subprocess.run([GPG, "--batch", "--quiet", "--no-tty", "--passphrase", "", "--pinentry-mode", "loopback"]
                                + list(args), env=env, input=kwargs.get("input"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, check=False)
        if result.returncode != 0 and not kwargs.get("may_fail"):
            raise AssertionError("gpg %s failed: %s" % (" ".join(args), result.stderr.decode(errors="replace")))
        return result

    def fingerprints(self, *args):
        out = self.run("--with-colons", *args).stdout.decode()
        return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]

    def generate(self, uid, expire="never", when=None, algo="ed25519", options=()):
        """A new signing key (ed25519 unless algo says otherwise: rsa2048, dsa2048, nistp256...); its fingerprint."""
        self.run(*(list(options) + (["--faked-system-time", when] if when else [])
                   + ["--quick-gen-key", uid, algo, "sign", expire]))
        return self.fingerprints("--list-keys", uid)[0]

    def add_subkey(self, fpr, expire="never", when=None, algo="ed25519"):
        before = set(self.fingerprints("--list-keys", fpr))
        self.run(*((["--faked-system-time", when] if when else []) + ["--quick-add-key", fpr, algo, "sign", expire]))
        return (set(self.fingerprints("--list-keys", fpr)) - before).pop()

    def revoke_subkey(self, fpr, index):
        self.run("--command-fd", "0", "--edit-key", fpr, input=("key %d\nrevkey\ny\n0\n\ny\nsave\n" % index).encode())

    def revoke(self, fpr):
        """Import the revocation certificate gpg made with the key, as `gpg --import` of it would."""
        path = os.path.join(self.home, "openpgp-revocs.d", fpr + ".rev")
        with open(path, "rb") as handle:
            certificate = handle.read().replace(b":-----BEGIN PGP PUBLIC KEY BLOCK-----", b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        self.run("--import", input=certificate)

    def export(self, *fprs, **kwargs):
        return self.run(*(["--export"] + (["--armor"] if kwargs.get("armor") else []) + list(fprs))).stdout

    def export_secret(self, fpr):
        return self.run("--export-secret-keys", fpr).stdout

    def sign(self, fpr, path):
        """A detached signature of the file at path by the key fpr (its signing subkey when it has one)."""
        self.run("--yes", "--local-user", fpr + "!", "--detach-sign", "--output", path + ".sig", path)
        return path + ".sig"

    def show(self, data):
        """{'primary': [...], 'subkeys': [...]} as `gpg --show-keys --with-colons` reads the keyring data."""
        out = self.run("--with-colons", "--show-keys", input=data).stdout.decode()
        lines = out.splitlines()
        result = {"primary": [], "subkeys": []}
        for number, line in enumerate(lines):
            if line.startswith(("pub:", "sub:")):
                fpr = next(item.split(":")[9] for item in lines[number + 1:] if item.startswith("fpr:"))
                result["primary" if line.startswith("pub:") else "subkeys"].append(fpr)
        return result

    def stop(self):
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=dict(os.environ, GNUPGHOME=self.home), check=False,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def gpgv(keyring, signature, data, home):
    """True when gpgv, given only the keyring file, accepts the detached signature of data (as apt runs it)."""
    os.makedirs(home, mode=0o700, exist_ok=True)
    result = subprocess.run([GPGV, "--homedir", str(home), "--keyring", os.path.abspath(keyring), signature, data],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return result.returncode == 0


_MADE = {}  # the test modules import the fixture each under its own name: the keys are made once all the same


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Keys made by gpg: {name: fingerprint} plus the Gpg under 'gpg'."""
    if GPG is None or GPGV is None:
        pytest.skip("gpg and gpgv are not installed: the tests on keys made by the real gpg cannot run")
    if not _MADE:
        _MADE.update(_make(Gpg(tmp_path_factory.mktemp("gnupg"))))
    yield _MADE
    _MADE["gpg"].stop()  # gpg starts its agent again when a later module signs


def _make(gpg):
    made = {"gpg": gpg}
    made["first"] = gpg.generate("First other <first@example.invalid>")
    made["wanted"] = gpg.generate("Wanted vendor <wanted@example.invalid>")
    made["last"] = gpg.generate("Last other <last@example.invalid>")
    made["expired"] = gpg.generate("Expired <expired@example.invalid>", "1d", PAST)
    made["revoked"] = gpg.generate("Revoked <revoked@example.invalid>")
    gpg.revoke(made["revoked"])
    made["with_subkeys"] = gpg.generate("Subkeys <subkeys@example.invalid>", "never", PAST)
    made["sub_expired"] = gpg.add_subkey(made["with_subkeys"], "1d", PAST)
    made["sub_revoked"] = gpg.add_subkey(made["with_subkeys"])
    gpg.revoke_subkey(made["with_subkeys"], 2)
    made["sub_good"] = gpg.add_subkey(made["with_subkeys"])
    # RSA 2048 (as NVIDIA's and Debian's keys, smaller), with an RSA signing subkey; then certified by "first",
    # a third-party signature: rsa_export is the key as it was before
    made["rsa"] = gpg.generate("RSA vendor <rsa@example.invalid>", "1y", algo="rsa2048")
    made["rsa_sub"] = gpg.add_subkey(made["rsa"], "1y", algo="rsa2048")
    made["rsa_export"] = gpg.export(made["rsa"])
    gpg.run("--local-user", made["first"], "--quick-sign-key", made["rsa"])
    made["rsa_expired"] = gpg.generate("RSA expired <rsa-expired@example.invalid>", "1d", PAST, algo="rsa2048")
    made["rsa_revoked"] = gpg.generate("RSA revoked <rsa-revoked@example.invalid>", algo="rsa2048")
    gpg.revoke(made["rsa_revoked"])
    for algo in ("dsa2048", "nistp256", "nistp384", "nistp521"):
        made[algo] = gpg.generate("%s vendor <%s@example.invalid>" % (algo, algo), algo=algo)
    # self-signatures over RIPEMD-160, which select_key cannot verify
    made["ripemd"] = gpg.generate("RIPEMD <ripemd@example.invalid>", options=["--cert-digest-algo", "RIPEMD160"])
    made["uids"] = gpg.generate("Current <current@example.invalid>")
    gpg.run("--quick-add-uid", made["uids"], "Former <former@example.invalid>")
    gpg.run("--quick-revoke-uid", made["uids"], "Former <former@example.invalid>")
    return made
