"""The static book (`make book`, docs/book/): its table of contents, its configuration and
how its build handles links, without Sphinx (the building itself is make book's, and the
pages in a browser make browser-check's)."""
import ast
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BOOK = ROOT / "docs" / "book"


def _load_build():
    spec = importlib.util.spec_from_file_location("book_build", BOOK / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module               # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load_build()


def test_toc_lists_every_notebook_and_docs_page_once():
    pages = build.toc_pages()
    assert len(pages) == len(set(pages)), "a page is listed twice"
    notebooks = {f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    docs = {f"docs/{p.stem}" for p in (ROOT / "docs").glob("*.md")}
    assert len(notebooks) == 7 and docs
    assert not notebooks - set(pages), f"notebooks missing from docs/book/toc.md: {notebooks - set(pages)}"
    assert not docs - set(pages), f"docs pages missing from docs/book/toc.md: {docs - set(pages)}"
    assert {"DECISIONS", "api/index"} <= set(pages)
    # the lessons in their order, first
    assert pages[:7] == sorted(notebooks)
    for page in pages:
        assert page in build.GENERATED or build.page_source(page) is not None, page


def test_conf_never_executes_the_notebooks_and_builds_the_api_reference():
    tree = ast.parse((BOOK / "conf.py").read_text())
    values = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name)}
    assert ast.literal_eval(values["nb_execution_mode"]) == "off"
    extensions = ast.literal_eval(values["extensions"])
    assert {"myst_nb", "autoapi.extension", "sphinx.ext.mathjax"} <= set(extensions)
    assert ast.literal_eval(values["html_theme"]) == "sphinx_book_theme"
    assert ast.literal_eval(values["autoapi_root"]) + "/index" in build.GENERATED
    assert (BOOK / "_templates" / "autoapi" / "index.rst").is_file()


def test_book_extra_is_optional_with_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    book = project["optional-dependencies"]["book"]
    names = {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower() for r in book}
    assert {"sphinx", "myst-nb", "sphinx-book-theme", "sphinx-autoapi"} <= names
    assert all(">=" in r and "<" not in r.replace(">=", "") and "==" not in r for r in book), book
    assert not names & {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower()
                        for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    assert re.search(r'^book: install\n\t.*pip install .*"\.\[dev,book\]"\n\t.*docs/book/build\.py',
                     (ROOT / "Makefile").read_text(), re.M)


@pytest.fixture
def repo(tmp_path):
    """A small repository: a README, two docs pages, a notebook, a figure, a result."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "figures").mkdir()
    (root / "results").mkdir()
    (root / "figures" / "a.png").write_bytes(b"\x89PNG fake")
    (root / "results" / "r.json").write_text("{}\n")
    (root / "README.md").write_text("# Home\n\nSee [world](docs/world.md) and ![a](figures/a.png).\n")
    (root / "docs" / "world.md").write_text("# World\n\nBack [home](../README.md).\n")
    (root / "docs" / "other.md").write_text("# Other\n")
    cell = {"cell_type": "markdown", "metadata": {}, "source": ["# 01\n", "Numbers: [r](../results/r.json)\n"]}
    (root / "notebooks" / "01_x.ipynb").write_text(json.dumps(
        {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    toc = root / "toc.md"
    toc.write_text("```{toctree}\n:hidden:\n:caption: Lessons\n\nnotebooks/01_x\n```\n\n"
                   "```{toctree}\n:hidden:\n\ndocs/world\ndocs/other\napi/index\n```\n")
    return root


def _fix(text, page, root, stage):
    staging = build.Staging()
    pages = {"docs/world", "docs/other", "notebooks/01_x", "README"}
    out = build.fix_markdown(text, build.PurePosixPath(page), pages, root, stage, staging)
    return out, staging


def test_links_to_pages_stay_and_files_outside_the_book_are_copied(repo, tmp_path):
    stage = tmp_path / "stage"
    text = "[w](world.md#a-heading) [r](../results/r.json) [web](https://example.org) [top](#x)\n"
    out, staging = _fix(text, "docs/other.md", repo, stage)
    assert out == text
    assert (stage / "results" / "r.json").read_text() == "{}\n"
    assert staging.copied == {"results/r.json"} and not staging.corrected


def test_a_link_that_only_resolves_from_the_root_is_corrected_and_reported(repo, tmp_path):
    out, staging = _fix("![g](figures/a.png \"title\")\n", "docs/other.md", repo, tmp_path / "s")
    assert out == "![g](../figures/a.png \"title\")\n"
    assert staging.corrected == [("docs/other.md", "figures/a.png", "../figures/a.png")]
    assert (tmp_path / "s" / "figures" / "a.png").exists()


def test_folders_become_text_and_broken_links_and_code_are_left_alone(repo, tmp_path):
    text = ("See [the results](../results/) and [gone](nowhere.md).\n"
            "`[code](../results/r.json)` stays code.\n"
            "```\n[fenced](../results/r.json)\n```\n")
    out, staging = _fix(text, "docs/other.md", repo, tmp_path / "s")
    assert out.splitlines()[0] == "See the results (`results/`) and [gone](nowhere.md)."
    assert out.splitlines()[1:] == text.splitlines()[1:]
    assert staging.as_text == [("docs/other.md", "../results/")] and not staging.copied


def test_the_landing_page_is_index(repo, tmp_path):
    out, _ = _fix("[home](../README.md#top)\n", "docs/world.md", repo, tmp_path / "s")
    assert out == "[home](../index.md#top)\n"


def test_staging_lays_out_the_book(repo, tmp_path):
    stage = tmp_path / "stage"
    (stage / "stale.md").parent.mkdir(parents=True)
    (stage / "stale.md").write_text("# left from an earlier build\n")
    staging = build.stage_sources(stage, root=repo, toc=repo / "toc.md")
    index = (stage / "index.md").read_text()
    assert index.startswith("# Home") and index.rstrip().endswith("```") and "docs/world" in index
    assert (stage / "docs" / "world.md").read_text() == "# World\n\nBack [home](../index.md).\n"
    nb = json.loads((stage / "notebooks" / "01_x.ipynb").read_text())
    assert nb["cells"][0]["source"] == "# 01\nNumbers: [r](../results/r.json)\n"
    assert (stage / "results" / "r.json").exists() and (stage / "figures" / "a.png").exists()
    assert not (stage / "stale.md").exists() and not (stage / "README.md").exists()
    assert staging.copied == {"results/r.json", "figures/a.png"}


def test_staging_refuses_a_toc_entry_with_no_page(repo, tmp_path):
    (repo / "toc.md").write_text("```{toctree}\n\ndocs/world\ndocs/missing\n```\n")
    with pytest.raises(SystemExit, match="docs/missing"):
        build.stage_sources(tmp_path / "stage", root=repo, toc=repo / "toc.md")


def test_only_docstring_markup_on_api_pages_is_tolerated(tmp_path):
    stage = tmp_path / "src"
    log = (f"{stage}/api/d2rl_lib/data/sysu/index.rst:6: WARNING: Definition list ends without a blank line; unexpected unindent. [docutils]\n"
           f"{stage}/api/d2rl_lib/runtime/index.rst:34:<autosummary>:2: WARNING: Literal block expected; none found. [docutils]\n"
           f"{stage}/docs/world.md:3: WARNING: image file not readable: figures/x.png [image.not_readable]\n"
           f"{stage}/api/d2rl_lib/index.rst: WARNING: document isn't included in any toctree [toc.not_included]\n"
           f"{stage}/notebooks/01_x.ipynb:2: ERROR: Unknown directive type \"foo\". [docutils]\n"
           "WARNING: a warning with no place\n  and a second line\n")
    fatal, markup = build.classify_warnings(log, stage)
    assert [build.api_module(b, stage) for b in markup] == ["d2rl_lib.data.sysu", "d2rl_lib.runtime"]
    assert len(fatal) == 4 and fatal[-1].endswith("a second line")
