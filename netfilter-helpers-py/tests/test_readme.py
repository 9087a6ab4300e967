"""The README's Python example (section "Use it") runs as written."""

from __future__ import annotations

import contextlib
import io
import re

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
