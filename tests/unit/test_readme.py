"""Every command README.md shows is one that tests/demo/run.sh (make demo-test) runs as it is written."""

import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SHELL_FENCES = ("sh", "bash", "shell", "console")
OTHER_FENCES = ("", "yaml", "json", "text", "ini", "toml")
# What the test runs in their place: make test is the run itself; the test's mysite is a copy of the demo fleet,
# whose hosts exist, where a user copies the example fleet and edits it.
STANDS_IN = {
    "make test": None,
    "cp -r inventories/example inventories/mysite": "cp -r inventories/demo inventories/mysite",
}


def readme_blocks(text):
    return re.findall(r"^```([A-Za-z]*)\n(.*?)^```", text, re.M | re.S)


def commands(blocks):
    found = []
    for fence, block in blocks:
        if fence not in SHELL_FENCES:
            continue
        for line in block.splitlines():
            command = re.split(r"\s+#", line.lstrip("$ "), maxsplit=1)[0].strip()
            if command:
                found.append(command)
    return found


def script_lines(text=None):
    if text is None:
        with open(os.path.join(ROOT, "tests", "demo", "run.sh"), encoding="utf-8") as handle:
            text = handle.read()
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def run_by_script(command, lines):
    """The command as a whole command of a line that is not a comment: alone, after a variable or a quote, before
    a redirection, a pipe, a quote or the end."""
    pattern = re.compile(r"(^|[\s'\"(])" + re.escape(command) + r"($|[\s'\")|>])")
    return any(pattern.search(line) for line in lines)


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


def test_every_fence_of_the_readme_is_of_a_known_kind():
    assert [b[0] for b in readme_blocks(readme()) if b[0] not in SHELL_FENCES + OTHER_FENCES] == []


def test_the_readme_shows_commands():
    assert "make demo" in commands(readme_blocks(readme()))


def test_every_readme_command_is_run_by_the_demo_test():
    lines = script_lines()
    missing = [c for c in commands(readme_blocks(readme()))
               if c not in STANDS_IN and not run_by_script(c, lines)
               or c in STANDS_IN and STANDS_IN[c] and not run_by_script(STANDS_IN[c], lines)]
    assert missing == []


def test_a_command_only_in_a_comment_or_in_a_bash_fence_counts_as_missing():
    lines = script_lines("# make demo-test runs this\nmake demo >log\nin_copy 'ansible-doc -t role dlops.gpu.cuda' | grep")
    assert not run_by_script("make demo-test", lines)
    assert run_by_script("make demo", lines)
    assert run_by_script("ansible-doc -t role dlops.gpu.cuda", lines)
    assert not run_by_script("ansible-doc -t role dlops.gpu", lines)
    assert commands([("bash", "make docs   # the docs\n$ make lint\n")]) == ["make docs", "make lint"]
