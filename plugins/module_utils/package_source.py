# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A package source as apt (a deb822 .sources file) or dnf (a .repo file) reads it, from checked fields.

Every field reaches a file that apt or dnf parses line by line, so a value with a newline or another control
character could add a line of its own (Trusted: yes, gpgcheck=0): each field is checked against what it may hold
before anything is rendered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dlops.gpu.plugins.module_utils import paths

DESTS = {"deb822": "/etc/apt/sources.list.d/%s.sources", "yum": "/etc/yum.repos.d/%s.repo"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_URI_RE = re.compile(r"^(https?|file)://[^\s\x00-\x1f\x7f]+\Z")
_WORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/~-]*\Z")
_SUITE_RE = re.compile(r"^(/|[A-Za-z0-9][A-Za-z0-9._+/~-]*)\Z")
# Printable text: no C0 or C1 control character, and no Unicode line or paragraph separator, which a tool reading
# the file with str.splitlines() would take for the end of a line.
_TEXT_RE = re.compile(u"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*\\Z")
# The file names apt and dnf read from their folders as each format: no leading dot, only letters, digits and _ . -
_DEST_NAME_RE = {"deb822": re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.sources\Z"),
                 "yum": re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.repo\Z")}


class SourceError(Exception):
    """A field would write a wrong or unsafe source; the message names it and says that nothing was changed."""


def _fail(what, value, rule):
    raise SourceError("%s %r %s; nothing was changed" % (what, value, rule))


def check(params):
    """Refuse a field that is not what it must be (see the module's documentation)."""
    if not _NAME_RE.match(params["name"] or ""):
        _fail("name", params["name"], "must be letters, digits and . _ - (it names the file and the repository)")
    if not params["uris"]:
        _fail("uris", params["uris"], "must list at least one URI")
    for uri in params["uris"]:
        if not _URI_RE.match(uri or ""):
            _fail("uri", uri, "must be an http://, https:// or file:// URI without spaces or control characters")
    if params["format"] == "deb822":
        if not params["suites"]:
            _fail("suites", params["suites"], "must list at least one suite for a deb822 source")
        for suite in params["suites"]:
            if not _SUITE_RE.match(suite or ""):
                _fail("suite", suite, "must be / or a word of letters, digits and . _ + / ~ -")
        for component in params["components"] or []:
            if not _WORD_RE.match(component or ""):
                _fail("component", component, "must be a word of letters, digits and . _ + / ~ -")
    if not _TEXT_RE.match(params["description"] or ""):
        _fail("description", params["description"], "must be one line without control characters")
    if not paths.plain(params["keyring"]):
        _fail("keyring", params["keyring"], "must be an absolute path of letters, digits and . _ + - between slashes, "
              "without . or .. components")
    dest = params.get("dest")
    if dest and not (paths.plain(dest) and _DEST_NAME_RE[params["format"]].match(dest.rsplit("/", 1)[1])):
        _fail("dest", dest, "must be an absolute path without . or .. components whose file name is letters, digits "
              "and _ . - ending in %s, which %s reads as this format" % (
                  (".sources", "apt") if params["format"] == "deb822" else (".repo", "dnf")))


def render(params):
    """The file's text for the checked fields."""
    description = params["description"] or params["name"]
    if params["format"] == "deb822":
        lines = ["# Managed by dlops.gpu: %s" % description,
                 "Types: deb",
                 "URIs: %s" % " ".join(params["uris"]),
                 "Suites: %s" % " ".join(params["suites"])]
        if params["components"]:
            lines.append("Components: %s" % " ".join(params["components"]))
        lines.append("Signed-By: %s" % params["keyring"])
    else:
        lines = ["# Managed by dlops.gpu",
                 "[%s]" % params["name"],
                 "name=%s" % description,
                 "baseurl=%s" % " ".join(params["uris"]),
                 "enabled=1",
                 "gpgcheck=%d" % bool(params["gpgcheck"]),
                 "repo_gpgcheck=%d" % bool(params["repo_gpgcheck"]),
                 "gpgkey=file://%s" % params["keyring"],
                 "sslverify=%d" % bool(params["validate_certs"])]
    return "\n".join(lines) + "\n"
