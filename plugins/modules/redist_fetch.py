#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: redist_fetch
short_description: Resolve NVIDIA redist releases and fill a local archive cache, verified by sha256
version_added: 0.1.0
description:
  - Reads the index of an NVIDIA redist folder (C(compute/cuda/redist/), C(compute/cudnn/redist/) or a mirror
    in the same layout), resolves each requested C(X.Y) to the newest C(X.Y.Z) offered, reads the
    C(redistrib_X.Y.Z.json) manifests and downloads the archives asked for into O(cache_dir).
  - Each archive is written to a temporary file, checked against the manifest's sha256 and size, then renamed
    into the cache; a corrupted or truncated download fails and leaves nothing in the cache.
  - Archives already in the cache with the right sha256 are not fetched again. The cuda and cudnn roles run it
    once per play on the controller, so the bytes fetched upstream do not grow with the number of hosts.
  - Fails before any download when a version is not offered (naming the versions that are), when a component
    is missing from a manifest, or when cuDNN has no build for a CUDA major.
  - Fails before any download when a manifest is not UTF-8 JSON, or when one of its archives has a
    C(relative_path) that is absolute, holds C(..) or leads out of O(cache_dir) through a link, a version that
    is not digits and dots, a size that is not a non-negative whole number or a sha256 that is not 64 lower-case
    hex digits.
  - In check mode manifests are read but no archive is downloaded.
  - Why not M(ansible.builtin.get_url) with a checksum - the URLs and checksums come from the manifest, which must
    be read and checked first (paths, versions, sizes), the archives of every host's request are fetched once for
    the fleet into one cache, and a size above the manifest's stops the download; one get_url task per archive
    would need the manifest parsed in Jinja and would not check the size.
author:
  - dlops.gpu maintainers (@dlops)
options:
  product:
    description: What the index at O(base_url) holds.
    type: str
    choices: [cuda, cudnn]
    required: true
  base_url:
    description: The redist folder, for example C(https://developer.download.nvidia.com/compute/cuda/redist).
    type: str
    required: true
  requests:
    description:
      - The releases wanted. C(version) is C(X.Y) or C(X.Y.Z); for cuDNN, C(cuda_major) names the CUDA major
        its build must match.
    type: list
    elements: dict
    required: true
    suboptions:
      version:
        description: C(X.Y) or C(X.Y.Z).
        type: str
        required: true
      cuda_major:
        description: For cuDNN, the CUDA major of the toolkit it goes into.
        type: str
      platform:
        description: The manifest platform key for this request (default O(platform)).
        type: str
      components:
        description: For CUDA, the components this request needs (default O(components)).
        type: list
        elements: str
      optional:
        description: For CUDA, components taken when the release has them (C(cuda_crt) exists from 13.0 on).
        type: list
        elements: str
  components:
    description: For CUDA, the manifest components wanted (C(cuda_cudart), C(cuda_nvcc), ...).
    type: list
    elements: str
    default: []
  platform:
    description: The manifest platform key.
    type: str
    default: linux-x86_64
  cache_dir:
    description: Where manifests and archives are kept, in the manifest's relative layout.
    type: path
    required: true
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each request.
    type: int
    default: 60
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - dlops.gpu.attributes.read_only
"""

EXAMPLES = r"""
- name: Fetch CUDA 12.8 and 13.0 runtime archives once for the fleet
  dlops.gpu.redist_fetch:
    product: cuda
    base_url: https://developer.download.nvidia.com/compute/cuda/redist
    requests:
      - version: "12.8"
      - version: "13.0.2"
    components: [cuda_cudart, cuda_nvrtc, libcublas]
    cache_dir: /var/cache/dlops-gpu/redist
  delegate_to: localhost
  run_once: true

- name: Fetch cuDNN 9.13 for CUDA 12
  dlops.gpu.redist_fetch:
    product: cudnn
    base_url: https://developer.download.nvidia.com/compute/cudnn/redist
    requests:
      - version: "9.13"
        cuda_major: "12"
    cache_dir: /var/cache/dlops-gpu/redist
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
releases:
  description:
    - Per request (C(version), or C(version/cudaN) for cuDNN) the resolved release and its archives. Each
      archive has name, title, version, relative_path, sha256, size and path (in the cache).
  returned: success
  type: dict
  sample:
    "12.8/linux-x86_64":
      label: "12.8.1"
      archives:
        cuda_cudart:
          name: cuda_cudart
          version: "12.8.90"
          relative_path: cuda_cudart/linux-x86_64/cuda_cudart-linux-x86_64-12.8.90-archive.tar.xz
          sha256: 0d3e1f4c...
          size: 1031528
          path: /var/cache/dlops-gpu/redist/cuda/cuda_cudart/linux-x86_64/cuda_cudart-linux-x86_64-12.8.90-archive.tar.xz
available:
  description: The release labels the index offers.
  returned: success
  type: list
  elements: str
downloaded:
  description: The archives fetched in this run (would be, in check mode).
  returned: success
  type: list
  elements: str
"""

import hashlib
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.dlops.gpu.plugins.module_utils import redist


def _get(module, url):
    try:
        return open_url(url, validate_certs=module.params["validate_certs"], timeout=module.params["timeout"])
    except Exception as exc:  # urllib raises several unrelated types
        module.fail_json(msg="cannot read %s: %s (check %s_redist_base_url)" % (url, exc, module.params["product"]))


def _download(module, url, dest, sha256, size):
    """Stream url into a temporary file beside dest; rename only when sha256 and size agree."""
    directory = os.path.dirname(dest)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-")
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write into %s: %s; nothing was downloaded into it" % (directory, exc))
    digest = hashlib.sha256()
    written = 0
    try:
        response = _get(module, url)
        try:
            with os.fdopen(fd, "wb") as handle:
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    written += len(block)
                    if written > size:
                        break  # more than the manifest says: no need to read the rest
                    handle.write(block)
        except Exception as exc:  # urllib and sockets raise several unrelated types
            module.fail_json(msg="download of %s failed after %d bytes: %s; nothing was kept" % (url, written, exc))
        if digest.hexdigest() != sha256 or written != size:
            module.fail_json(msg="download of %s is corrupt: %s bytes with sha256 %s, the manifest says %d bytes "
                                 "with sha256 %s; nothing was kept" % (
                                     url, written if written <= size else "more than %d" % size,
                                     digest.hexdigest(), size, sha256))
        os.chmod(tmp, 0o644)
        os.rename(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _releases(module, base_url, available):
    """Every request resolved, its manifest read and its archives checked: nothing downloaded yet."""
    params = module.params
    product = params["product"]
    title = "CUDA" if product == "cuda" else "cuDNN"
    manifests = {}
    releases = {}
    for request in params["requests"]:
        label = redist.resolve(request["version"], available, title)
        platform = request.get("platform") or params["platform"]
        url = "%s/redistrib_%s.json" % (base_url, label)
        if label not in manifests:
            manifests[label] = redist.parse_manifest(_get(module, url).read(), url)
        manifest = manifests[label]
        key = redist.request_key(product, request, params["platform"])
        release = releases.setdefault(key, {"label": label, "platform": platform, "archives": {}})
        if product == "cuda":
            required = request.get("components") or params["components"]
            if not required:
                module.fail_json(msg="CUDA %s: no components asked for" % request["version"])
            optional = [c for c in request.get("optional") or [] if isinstance(manifest.get(c), dict) and
                        platform in manifest[c]]
            release["archives"].update(redist.components(manifest, required + optional, platform, url))
        else:
            if not request.get("cuda_major"):
                module.fail_json(msg="cuDNN request %s names no cuda_major" % request["version"])
            release["archives"]["cudnn"] = redist.cudnn_archive(manifest, request["cuda_major"], platform, url)
    return releases


def main():
    module = AnsibleModule(
        argument_spec=dict(
            product=dict(type="str", required=True, choices=["cuda", "cudnn"]),
            base_url=dict(type="str", required=True),
            requests=dict(type="list", elements="dict", required=True, options=dict(
                version=dict(type="str", required=True),
                cuda_major=dict(type="str"),
                platform=dict(type="str"),
                components=dict(type="list", elements="str"),
                optional=dict(type="list", elements="str"),
            )),
            components=dict(type="list", elements="str", default=[]),
            platform=dict(type="str", default="linux-x86_64"),
            cache_dir=dict(type="path", required=True),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = module.params
    product = params["product"]
    base_url = params["base_url"].rstrip("/")
    cache = os.path.join(params["cache_dir"], product)

    available = redist.index_versions(_get(module, base_url + "/").read().decode("utf-8", "replace"))
    todo = {}
    try:
        releases = _releases(module, base_url, available)
        for release in releases.values():
            for archive in release["archives"].values():
                archive["path"] = redist.inside(cache, archive["relative_path"], "%s/%s" % (
                    base_url, archive["relative_path"]))
                archive["url"] = "%s/%s" % (base_url, archive["relative_path"])
                if archive["path"] in todo:
                    continue
                if os.path.isfile(archive["path"]) and redist.sha256_file(archive["path"]) == archive["sha256"]:
                    continue
                todo[archive["path"]] = archive
    except (redist.RedistError, IOError, OSError) as exc:
        module.fail_json(msg="%s; nothing was downloaded" % exc, available=available)
    downloaded = sorted(a["relative_path"] for a in todo.values())
    if todo and not module.check_mode:
        for archive in sorted(todo.values(), key=lambda a: a["path"]):
            _download(module, archive["url"], archive["path"], archive["sha256"], archive["size"])
    module.exit_json(changed=bool(todo), releases=releases, available=available,
                     downloaded=downloaded)


if __name__ == "__main__":
    main()
