#!/usr/bin/env bash
# Check execution-environment.yml offline: with the collection's tarball that `make build` wrote, write the
# image's build context with `ansible-builder create` (which builds no image) into build/ee-context, and check that
# the Containerfile and the context hold what the definition asks for and what this checkout needs: the base image, the ansible-core release
# of the `ansible` bundle that requirements.txt pins, ansible-runner, this collection's tarball of galaxy.yml's
# version with galaxy.yml's dependencies, and no Python packages, as the plugins import none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -x "$root/.venv/bin/ansible-builder" ]; then
  PATH="$root/.venv/bin:$PATH"
fi
context=$root/build/ee-context
rm -rf "$context"
version=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)
[ -f "build/dlops-gpu-$version.tar.gz" ] || { echo "ee-check: build/dlops-gpu-$version.tar.gz is missing: run make build" >&2; exit 1; }
ansible-builder create -f execution-environment.yml -c "$context" --output-filename Containerfile >/dev/null
python3 - "$root" "$context" <<'PY'
import ast
import glob
import importlib.metadata
import os
import re
import sys
import tarfile
import json

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

root, context = sys.argv[1:3]
errors = []


def check(ok, message):
    if not ok:
        errors.append(message)


def load(path):
    with open(os.path.join(root, path)) as handle:
        return yaml.safe_load(handle)


ee = load("execution-environment.yml")
galaxy = load("galaxy.yml")
runtime = load("meta/runtime.yml")
containerfile = os.path.join(context, "Containerfile")
if not os.path.isfile(containerfile):
    sys.exit("ee-check: ansible-builder create wrote no %s" % containerfile)
with open(containerfile) as handle:
    text = handle.read()
deps = ee["dependencies"]

# The base image, and the interpreter installed in it.
base = ee["images"]["base_image"]["name"]
check('ARG EE_BASE_IMAGE="%s"' % base in text and re.search(r"^FROM \$EE_BASE_IMAGE AS base\s*$", text, re.M),
      "the Containerfile does not build FROM %s" % base)
check('ARG PYCMD="%s"' % deps["python_interpreter"]["python_path"] in text,
      "the Containerfile does not use %s" % deps["python_interpreter"]["python_path"])

# ansible-core: the release series of the bundle that requirements.txt pins (the bundle installed here tells it).
refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"$', text, re.M)
refs = refs.group(1).split() if refs else []
core = Requirement(deps["ansible_core"]["package_pip"])
runner = Requirement(deps["ansible_runner"]["package_pip"])
for dep, name in ((deps["ansible_core"], "ansible-core"), (deps["ansible_runner"], "ansible-runner")):
    check(Requirement(dep["package_pip"]).name == name and dep["package_pip"] in refs,
          "the Containerfile does not install %s" % dep["package_pip"])
with open(os.path.join(root, "requirements.txt")) as handle:
    pinned = [Requirement(line.split("#")[0].strip()) for line in handle if line.split("#")[0].strip()]
bundle = [r for r in pinned if r.name == "ansible"]
check(len(bundle) == 1, "requirements.txt pins no `ansible` bundle")
bundle_version = importlib.metadata.version("ansible")
check(not bundle or bundle[0].specifier.contains(bundle_version),
      "the ansible bundle installed (%s) is not the one requirements.txt pins" % bundle_version)
bundle_core = [Requirement(r) for r in importlib.metadata.requires("ansible") or []
               if Requirement(r).name == "ansible-core"]
series = Version(min(s.version for s in bundle_core[0].specifier)).release[:2] if bundle_core else (0, 0)
installed_core = importlib.metadata.version("ansible-core")
check(core.specifier.contains(installed_core),
      "ansible-core %s (from the ansible bundle) is outside the EE's %s" % (installed_core, core.specifier))
for outside in ("%d.%d.999" % (series[0], series[1] - 1), "%d.%d.0" % (series[0], series[1] + 1)):
    check(not core.specifier.contains(outside),
          "the EE's %s admits ansible-core %s, outside the bundle's %d.%d" % (core.specifier, outside, *series))
check(SpecifierSet(runtime["requires_ansible"]).contains(installed_core),
      "ansible-core %s does not meet meta/runtime.yml's requires_ansible" % installed_core)
try:
    runner_installed = importlib.metadata.version("ansible-runner")
    check(runner.specifier.contains(runner_installed),
          "ansible-runner %s (installed here) is outside the EE's %s" % (runner_installed, runner.specifier))
except importlib.metadata.PackageNotFoundError:
    errors.append("ansible-runner is not installed here")

# Collections: this one from its tarball of galaxy.yml's version, and galaxy.yml's dependencies.
tarball = "dlops-gpu-%s.tar.gz" % galaxy["version"]
with open(os.path.join(context, "_build", "requirements.yml")) as handle:
    wanted = yaml.safe_load(handle)["collections"]
names = dict((c["name"], c) for c in wanted)
check(names.get("collections/" + tarball, {}).get("type") == "file",
      "the EE does not install collections/%s (galaxy.yml's version)" % tarball)
for name, version in sorted(galaxy.get("dependencies", {}).items()):
    check(str(names.get(name, {}).get("version")) == version,
          "the EE does not install %s %s (galaxy.yml's dependency)" % (name, version))
check(set(names) == set(["collections/" + tarball]) | set(galaxy.get("dependencies", {})),
      "the EE installs collections galaxy.yml does not name: %s" % sorted(names))
shipped = os.path.join(context, "_build", "collections", tarball)
check(os.path.isfile(shipped), "the build context lacks _build/collections/%s" % tarball)
if os.path.isfile(shipped):
    with tarfile.open(shipped) as archive:
        info = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]
    check((info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"], galaxy["version"]),
          "_build/collections/%s is %s.%s %s" % (tarball, info["namespace"], info["name"], info["version"]))
check(re.search(r"ansible-galaxy collection install .*-r requirements\.yml", text),
      "the Containerfile does not install the collections")

# Python packages: none, while no plugin imports anything beyond the standard library, ansible and this collection.
check(not deps.get("python") and not os.path.exists(os.path.join(context, "_build", "requirements.txt")),
      "the EE installs Python packages: %s" % deps.get("python"))
for path in sorted(glob.glob(os.path.join(root, "plugins", "*", "*.py"))):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    # An import that falls back on ImportError (tomllib, else tomli) is optional.
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers):
            optional.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            check(top in sys.stdlib_module_names or top in ("ansible", "ansible_collections", "__future__"),
                  "%s imports %s: add it to the EE's Python dependencies" % (os.path.relpath(path, root), module))

if errors:
    sys.exit("ee-check: %s" % "\nee-check: ".join(errors))
print("ee-check: build/ee-context/Containerfile builds FROM %s with %s, %s, the collections %s" % (
    base, deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], ", ".join(sorted(names))))
PY
