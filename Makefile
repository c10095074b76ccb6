# dlops.gpu: everything a user or CI runs. `make test` and `make demo` set up
# what they need themselves (virtualenv, Docker engine, local test images).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BUILD := $(CURDIR)/build
COLLECTIONS := $(BUILD)/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/dlops/gpu
# Outside this checkout: inside it, ansible-test would ask git and see build/ as ignored.
SANITY_TREE := $(or $(TMPDIR),/tmp)/dlops-gpu-sanity/ansible_collections/dlops/gpu
MODULES := $(patsubst plugins/modules/%.py,dlops.gpu.%,$(wildcard plugins/modules/*.py))
FILTERS := $(patsubst plugins/filter/%.yml,dlops.gpu.%,$(wildcard plugins/filter/*.yml))
export DLOPS_MIRROR_PORT ?= 8765
SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_HOME := $(BUILD)/ansible-home
export ANSIBLE_LOCAL_TEMP := $(BUILD)/ansible-tmp
export ANSIBLE_REMOTE_TEMP := /tmp/.ansible-dlops
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PY_COLORS := 0
export ANSIBLE_FORCE_COLOR := 0

.PHONY: help setup venv collection docker images mirror test lint sanity unit package docs docs-site ee-check runner-test molecule demo demo-down demo-test build clean

help:
	@echo "make demo   provision the demo fleet of local containers (run it twice: the second run changes nothing)"
	@echo "make test   everything CI runs: ansible-lint, ansible-test sanity, unit tests, every Molecule scenario"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# The collection must be importable as dlops.gpu by ansible, molecule and ansible-lint.
collection:
	@mkdir -p $(dir $(COLLECTION)) $(ANSIBLE_HOME) $(ANSIBLE_LOCAL_TEMP)
	@ln -sfn $(CURDIR) $(COLLECTION)

docker:
	@bash scripts/ensure-docker.sh

images: docker
	@bash scripts/build-images.sh

# The NVIDIA redist mirror (CUDA and cuDNN from NVIDIA's PyPI wheels) the tests and the demo install from,
# served on 127.0.0.1:$(DLOPS_MIRROR_PORT).
mirror: venv
	@bash scripts/mirror.sh build
	@bash scripts/mirror.sh start

setup: venv collection images mirror

test: setup lint sanity unit package docs ee-check molecule
	@echo "make test: all checks passed"

# ansible-lint keeps a copy of the collection in its cache and would lint against a stale one.
lint: venv collection
	@rm -rf $(ANSIBLE_HOME)/collections/ansible_collections/dlops
	ansible-lint --offline --profile production

# ansible-test wants the collection at ansible_collections/dlops/gpu and checks
# every file there: copy what git knows (tracked and new, not ignored).
sanity: venv
	@bash scripts/ansible-test-offline.sh
	@rm -rf $(SANITY_TREE) && mkdir -p $(SANITY_TREE)
	@git ls-files -z --cached --others --exclude-standard \
	  | tar --null --ignore-failed-read -cf - -T - 2>/dev/null | tar -xf - -C $(SANITY_TREE)
	cd $(SANITY_TREE) && ansible-test sanity --local --python 3.11 --color no

unit: venv collection
	cd $(COLLECTIONS) && python -m pytest -q $(CURDIR)/tests/unit

# Module, filter and role docs as antsibull-docs renders them, and the changelog fragments (offline).
docs: venv
	@bash scripts/docs.sh lint

# The HTML docs site in build/docs-site (offline).
docs-site: venv collection
	@bash scripts/docs.sh site

# The execution environment's build context (ansible-builder create, offline) and what it names.
ee-check: build
	bash scripts/ee-check.sh

# site.yml through ansible-runner as a job sliced in two, on the demo fleet (after make demo; demo-test runs it).
runner-test: venv collection
	bash tests/runner/sliced.sh

molecule: setup
	@for s in $(SCENARIOS); do \
	  echo "=== molecule test -s $$s"; \
	  molecule test -s $$s || exit 1; \
	done

demo: setup
	ansible-playbook -i inventories/demo playbooks/demo.yml --diff

# Every command the README shows, run on the demo fleet and checked (tests/demo/run.sh); the fleet is removed after.
# Not yet part of make test: with it, make test would take about 55 minutes on a 2-core machine.
demo-test: setup
	bash tests/demo/run.sh

demo-down: venv collection
	ansible-playbook -i inventories/demo playbooks/demo.yml -e demo_state=absent

build: venv
	ansible-galaxy collection build --force --output-path $(BUILD)

# The tarball installs offline, its fleet playbook is callable as dlops.gpu.site, and its docs render.
package: build
	@rm -rf $(BUILD)/installed && mkdir -p $(BUILD)/installed
	ansible-galaxy collection install --offline --force -p $(BUILD)/installed $(BUILD)/dlops-gpu-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-playbook -i localhost, --syntax-check dlops.gpu.site
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-doc $(MODULES) >/dev/null
	@# ansible-test does not check filter docs: make sure ansible-doc renders each one.
	ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed ansible-doc -t filter $(FILTERS) | grep -c "^> FILTER" | grep -qx $(words $(FILTERS))

clean:
	rm -rf $(BUILD) tests/output
