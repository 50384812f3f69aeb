"""Every pointer a user can follow resolves: each relative link and #anchor of the user documents, and
each section the documents, the CLI's help texts and its error messages cite by name.

Links: ``[text](path#anchor)`` and ``[name]: path`` outside code; the path (relative to the
document) must exist inside the repository, and an anchor must be a heading's id in the target by
GitHub's rules (lower case; punctuation but ``-`` and ``_`` dropped; spaces to ``-``; repeated ids
get ``-1``, ``-2``, ...). Citations: ``DOC, "Section"`` and ``"Section" in DOC`` (DOC one of
README, README.md, MODEL_CARD.md, docs/X.md, export/README.md, experiments/results/README.md);
the section must be a heading of DOC or a paragraph's bold lead (``**Name**``), whole or up to
its ": ..." / " (...)" tail. A citation without quotes (``README, Quick start``) is an error too:
it cannot be checked.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "MODEL_CARD.md", "export/README.md", "experiments/results/README.md",
             *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
DOC = r"(?<![\w/.])(export/README\.md|experiments/results/README\.md|docs/[\w-]+\.md|MODEL_CARD(?:\.md)?|README(?:\.md)?)"
QUOTED = r"(\"[^\"]+\"|“[^”]+”|'[^']+'(?!\w))"  # the quotes kept: stripped by unquote()
CITATION = re.compile(DOC + r",\s+(?:section\s+)?" + QUOTED)
CITED_IN = re.compile(QUOTED + r"\s+in\s+" + DOC)
UNQUOTED_CITATION = re.compile(DOC + r",\s+(?:section\s+)?(?![\"'“‘]|MODEL_CARD|README)([A-Z][\w' -]+)")  # not a list of files


def outside_code(text: str) -> str:
    """The text with fenced blocks blanked (lines kept, for line numbers) and inline code removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else INLINE_CODE.sub("", line))
    return "\n".join(lines)


def plain(heading: str) -> str:
    """A heading's or label's visible text: inline code, emphasis and links reduced to their text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[`*]", "", text).strip()


def github_slug(text: str) -> str:
    return re.sub(r"[^\w\- ]", "", plain(text).lower()).replace(" ", "-")


def headings(text: str) -> list[str]:
    found, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)):
            found.append(plain(m.group(1)))
    return found


def anchors(text: str) -> set[str]:
    seen, out = {}, set()
    for heading in headings(text):
        slug = github_slug(heading)
        out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return out


def named_sections(text: str) -> list[str]:
    bold = [plain(m.group(1)).rstrip(".:") for m in re.finditer(r"^\s*(?:[-*]\s+)?\*\*(.+?)\*\*", outside_code(text), re.M)]
    return headings(text) + bold


def cites(section: str, names: list[str]) -> bool:
    section = plain(section)
    return any(name == section or (name.startswith(section) and name[len(section):][:2] in (": ", " (", ", "))
               for name in names)


def document_path(name: str) -> Path:
    return REPO / {"README": "README.md", "MODEL_CARD": "MODEL_CARD.md"}.get(name, name)


def links(text: str) -> list[tuple[int, str]]:
    body = outside_code(text)
    found = [(body.count("\n", 0, m.start()) + 1, m.group(1)) for m in INLINE_LINK.finditer(body)]
    return found + [(body.count("\n", 0, m.start()) + 1, m.group(1)) for m in REFERENCE_LINK.finditer(body)]


def broken_links(document: str) -> list[str]:
    source = REPO / document
    problems = []
    for line, target in links(source.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (source.parent / path_part).resolve() if path_part else source
        where = f"{document}:{line}: ({target})"
        if REPO.resolve() not in (path, *path.parents):
            problems.append(f"{where} points outside the repository")
        elif not path.exists():
            problems.append(f"{where}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
            problems.append(f"{where}: no heading with the id #{anchor} in {path.relative_to(REPO.resolve())}")
    return problems


def broken_citations(name: str, text: str) -> list[str]:
    """The citations of ``text`` that do not resolve (a citation may run over a line break)."""
    text = re.sub(r"\s*\n\s*(?:#\s*)?", " ", text)  # one line; a comment's continuation "#" dropped
    problems = []
    for pattern, doc_group, section_group in ((CITATION, 1, 2), (CITED_IN, 2, 1)):
        for m in pattern.finditer(text):
            target = document_path(m.group(doc_group))
            if not target.is_file():
                problems.append(f"{name}: {m.group(0)!r} cites {m.group(doc_group)}, which does not exist")
            elif not cites(m.group(section_group)[1:-1], named_sections(target.read_text(encoding="utf-8"))):
                problems.append(f"{name}: {m.group(0)!r}: no such section in {target.relative_to(REPO)}")
    for m in UNQUOTED_CITATION.finditer(text):
        problems.append(f"{name}: {m.group(0)!r}: quote the section name so that it can be checked")
    return problems


# ---------------------------------------------------------------------- the checker itself


def test_github_slugs_and_anchor_numbering():
    text = "# Speed against PyTorch (issue 16)\n```\n# not a heading\n```\n## Size and compute (Table 1, Table 7)\n" \
           "## The `cpu-long` recipe: α\n## Notes\n## Notes\n"
    assert anchors(text) == {"speed-against-pytorch-issue-16", "size-and-compute-table-1-table-7",
                             "the-cpu-long-recipe-α", "notes", "notes-1"}


def test_links_citations_and_their_problems_are_found(tmp_path):
    text = "See [a](docs/x.md#y), [b](https://e.org) and `[c](no.md)`.\n```\n[d](no.md)\n```\n[e]: MODEL_CARD.md\n"
    assert [target for _, target in links(text)] == ["docs/x.md#y", "https://e.org", "MODEL_CARD.md"]
    sections = ["Class centres (issue 12)", "A longer schedule at 48 px: the cpu-long recipe", "Commands"]
    assert cites("Class centres", sections) and cites("A longer schedule at 48 px", sections)
    assert not cites("Class", sections) and not cites("Quick start", sections)
    found = broken_citations("x.py", 'see README, "No such section"; (README, Quick start); '
                                     '"Tests" in README.md; docs/nothing.md, "X"')
    assert len(found) == 3 and "quote the section name" in found[-1] and "does not exist" in found[1]


# ---------------------------------------------------------------------- the repository


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_relative_link_and_anchor_resolves(document):
    assert broken_links(document) == []


def test_every_cited_section_exists_in_the_documents_and_the_cli():
    sources = [REPO / d for d in DOCUMENTS] + sorted((REPO / "dsan_tf").rglob("*.py"))
    problems = [p for path in sources
                for p in broken_citations(str(path.relative_to(REPO)), path.read_text(encoding="utf-8"))]
    assert problems == []


def test_the_cli_help_texts_cite_only_sections_that_exist():
    """The help as a user sees it (argparse's rendering of every registered command)."""
    from dsan_tf.cli import COMMANDS, parse_command_args  # noqa: F401

    import importlib

    problems = []
    for name, command in COMMANDS.items():
        module = importlib.import_module(command.module)
        text = module.build_parser().format_help()
        problems += broken_citations(f"dsan {name} --help", re.sub(r"\s+", " ", text))
    assert problems == []


def test_readme_and_the_testing_page_give_one_suite_size():
    sizes = {doc: set(re.findall(r"(\d[\d,]*) passed", (REPO / doc).read_text(encoding="utf-8")))
             for doc in ("README.md", "docs/testing.md")}
    assert len(set().union(*sizes.values())) <= 1, sizes
