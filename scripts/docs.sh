#!/usr/bin/env bash
# The collection's documentation through the Ansible docs tooling, offline.
#   scripts/docs.sh lint   module, filter and role docs as antsibull-docs renders them (markup, references,
#                          RST), and the changelog fragments (antsibull-changelog)
#   scripts/docs.sh site   the HTML docs site in build/docs-site (antsibull-docs sphinx-init, then its build.sh)
# The site needs dlops.gpu in ANSIBLE_COLLECTIONS_PATH (make collection).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=build/docs-src
SITE=build/docs-site
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$PWD/build/collections}

installed() {
    local path paths
    IFS=: read -ra paths <<<"$ANSIBLE_COLLECTIONS_PATH"
    for path in "${paths[@]}"; do
        [ -f "$path/ansible_collections/dlops/gpu/galaxy.yml" ] && return 0
    done
    return 1
}

case "${1:-}" in
lint)
    # References to ansible.builtin and to the collections galaxy.yml depends on are checked as well,
    # and one to any other collection is an error.
    antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent \
        --disallow-unknown-collection-refs .
    antsibull-changelog lint ;;
site)
    installed || { echo "docs: dlops.gpu is not in ANSIBLE_COLLECTIONS_PATH ($ANSIBLE_COLLECTIONS_PATH): run make collection" >&2; exit 1; }
    rm -rf "$SRC" "$SITE"
    # antsibull-docs writes only into a folder that no one else can write to.
    mkdir -p build && mkdir -m 0755 "$SRC"
    cat > build/docs-index.rst <<'RST'
.. _docsite_root_index:

dlops.gpu
=========

Modules, filters and roles of the dlops.gpu collection.

.. toctree::
   :maxdepth: 2
   :caption: Collections:

   collections/index

.. toctree::
   :maxdepth: 1
   :caption: Plugin indexes:
   :glob:

   collections/index_*

.. toctree::
   :maxdepth: 1
   :caption: Reference indexes:

   collections/environment_variables
RST
    antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$SRC" --project dlops.gpu \
        --copyright "dlops.gpu maintainers" --title "dlops.gpu" --index-rst-source build/docs-index.rst dlops.gpu
    # The collection is not on Galaxy: pages link to its repository (galaxy.yml) and install it as README does.
    python - "$SRC/antsibull-docs.cfg" <<'PY'
import sys
import yaml
path = sys.argv[1]
with open("galaxy.yml") as handle:
    repository = yaml.safe_load(handle)["repository"]
install = "ansible-galaxy collection build && ansible-galaxy collection install dlops-gpu-*.tar.gz"
with open(path) as handle:
    text = handle.read()
for key, value in (("collection_url", repository), ("collection_install", install)):
    opening = key + " = {\n"
    if text.count(opening) != 1:
        sys.exit("docs: %s has no %s mapping to add dlops.gpu to" % (path, key))
    text = text.replace(opening, '%s  dlops.gpu = "%s"\n' % (opening, value))
with open(path, "w") as handle:
    handle.write(text)
PY
    # Offline: Sphinx would fetch the Ansible docs' inventory for the links to ansible.builtin and the
    # pages that antsibull-docs links to; it reads one written from what is installed instead.
    python tools/docs_inventory.py galaxy.yml "$SRC/ansible_devel.inv"
    cat >> "$SRC/conf.py" <<'PY'

# Offline build (scripts/docs.sh): one local inventory, nothing fetched; links still go to the published docs.
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '../ansible_devel.inv'),
}
PY
    "$SRC/build.sh"
    cp -a "$SRC/build/html" "$SITE"
    echo "docs: site in $SITE/index.html" ;;
*)
    echo "usage: scripts/docs.sh lint|site" >&2
    exit 2 ;;
esac
