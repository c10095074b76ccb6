"""Real keys made by the real gpg for the repository-key tests, in a temporary GNUPGHOME (a session fixture).

Every key is made once per test session (ed25519: a few milliseconds each) and exported; the tests read the
exported bytes. `keys` skips the tests that need it, saying so, only when gpg is not installed.
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

    def generate(self, uid, expire="never", when=None):
        """A new ed25519 signing key; its fingerprint."""
        self.run(*((["--faked-system-time", when] if when else []) + ["--quick-gen-key", uid, "ed25519", "sign", expire]))
        return self.fingerprints("--list-keys", uid)[0]

    def add_subkey(self, fpr, expire="never", when=None):
        before = set(self.fingerprints("--list-keys", fpr))
        self.run(*((["--faked-system-time", when] if when else []) + ["--quick-add-key", fpr, "ed25519", "sign", expire]))
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


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """Keys made by gpg: {name: fingerprint} plus the Gpg under 'gpg'."""
    if GPG is None or GPGV is None:
        pytest.skip("gpg and gpgv are not installed: the tests on keys made by the real gpg cannot run")
    gpg = Gpg(tmp_path_factory.mktemp("gnupg"))
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
    yield made
    gpg.stop()
