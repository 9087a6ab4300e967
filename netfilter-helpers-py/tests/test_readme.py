"""The README's Python examples (sections "Use it" and "Auditing a ruleset") run as written."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from .conftest import REPO


def use_it_block(lang: str) -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Use it\n", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(rf"^```{lang}\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) == 1, f"one ```{lang} block in README's \"Use it\""
    return blocks[0]


def test_readme_python_example_judges_a_line_and_renders_a_site() -> None:
    code = use_it_block("python")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md (Use it, python)", "exec"), {"__name__": "readme"})
    text = out.getvalue()
    assert "destination-address" in text.splitlines()[0]
    assert "table inet nfh {" in text
    assert "ct helper set" in text


def test_readme_audit_example_runs_the_host_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n### Auditing a ruleset\n", 1)[1].split("\n### ", 1)[0]
    blocks: list[str] = re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)
    assert len(blocks) == 1, 'one ```python block in README\'s "Auditing a ruleset"'
    monkeypatch.chdir(REPO)  # the example names the sample tree from the repository's top
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md (Auditing a ruleset, python)", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert "related-accept-blanket -A fwd_lan -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" in lines
    assert lines[0] == "dangerous-option nf_conntrack_ftp.loose"
    missing = int(lines[-1].split()[0])
    assert missing > 0 and lines[-1] == f"{missing} rules missing"
