"""README.md and docs/*.md link only to files that exist in this repository (a clone has nothing else)."""

import re
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PARSER = MarkdownIt("commonmark").enable("table")


def _inline_tokens(text: str):
    for token in _PARSER.parse(text):
        yield token
        yield from token.children or ()


def links(path: Path) -> list[str]:
    """Every link target in the document (code spans and code blocks are not links)."""
    return [t.attrGet("href") for t in _inline_tokens(path.read_text()) if t.type == "link_open"]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    tokens = _PARSER.parse(path.read_text())
    titles = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def broken_links(path: Path, *, root: Path = ROOT) -> list[str]:
    problems = []
    for href in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):  # http:, https:, mailto: — outside the repository
            continue
        target, _, anchor = unquote(href).partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.is_relative_to(root):
            problems.append(f"{href}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{href}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{href}: no heading #{anchor}")
    return problems


def test_every_relative_link_points_at_a_file_in_the_repository():
    checked = {path.relative_to(ROOT).as_posix(): broken_links(path) for path in DOCUMENTS}
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert sum(len(links(path)) for path in DOCUMENTS) > 50  # the documents really link to the code
    assert not [path.name for path in DOCUMENTS if "../shared" in path.read_text()]  # not even as code


def test_the_readme_leads_to_the_docs():
    assert {"docs/architecture.md", "docs/api.md"} <= set(links(ROOT / "README.md"))


def test_the_check_catches_what_a_clone_would_not_have(tmp_path):
    doc = tmp_path / "README.md"
    (tmp_path / "real.md").write_text("# Real heading\n")
    doc.write_text("[a](real.md) [b](real.md#real-heading) [c](../shared/API.md) [d](gone.py) "
                   "[e](real.md#missing) [f](https://example.com) `[g](not-a-link.md)`\n")
    assert broken_links(doc, root=tmp_path) == ["../shared/API.md: outside the repository", "gone.py: no such file",
                                 "real.md#missing: no heading #missing"]
