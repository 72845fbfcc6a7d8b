"""Build the course as a static HTML book (`make book`): README.md as the landing page, the
numbered notebooks with the outputs they were saved with (never executed), docs/*.md,
DECISIONS.md and the API reference of d2rl_lib, in _build/book/html.

    python docs/book/build.py                 # = make book (after installing the book extra)
    python docs/book/build.py --out /tmp/book

Sphinx reads a copy of the pages ("staging", in _build/book/src), laid out as in the
repository, so every relative link of README.md and docs/*.md means in the book what it
means on GitHub. The copy is also where links to files outside the book are handled:

- a link to a repository file that is not a page (``results/ablation.json``,
  ``benchmarks/bench.py``, a figure) copies that file into the book: an image shows, any
  other file becomes a download link that opens the copy;
- a link to a folder, or to a Markdown file that is not a page of the book, becomes its
  text followed by the repository path, as code (no link);
- a link that does not resolve beside its page but does from the repository root (a page
  in docs/ naming ``figures/x.png`` where GitHub needs ``../figures/x.png``) is corrected
  in the book's copy and reported, so that the page itself can be fixed;
- a link that resolves nowhere is left alone: Sphinx warns, and the build fails.

The pages and their order are those of docs/book/toc.md; the configuration is
docs/book/conf.py. Every warning of Sphinx fails the build (after all are printed), except
docutils' messages about the markup of the library's docstrings on the API pages: a docstring
that is not valid reStructuredText is shown as written and reported, and ``--strict`` makes
those fail too.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parents[1]
TOC = BOOK / "toc.md"
# Pages the build writes itself (sphinx-autoapi, into api/ of the staging folder)
GENERATED = {"api/index": "the API reference of d2rl_lib, written by sphinx-autoapi"}
PAGE_SUFFIXES = (".md", ".ipynb", ".rst")

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); one level of brackets inside the text
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>]*>|[^)\s]+)(\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
TOC_ENTRY = re.compile(r"^\s*([A-Za-z0-9_./\-]+)\s*$")


def toc_pages(toc: Path = TOC) -> list[str]:
    """The pages the toc lists, as paths without suffix (``notebooks/01_modality_gap``):
    the lines inside its ``{toctree}`` blocks that are not options."""
    pages, inside = [], False
    for line in toc.read_text().splitlines():
        if line.startswith("```{toctree}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
        elif inside and not line.lstrip().startswith(":"):
            m = TOC_ENTRY.match(line)
            if m:
                pages.append(m.group(1))
    return pages


def page_source(page: str, root: Path = ROOT) -> Path | None:
    """The repository file behind a toc entry: a notebook or a Markdown page."""
    for suffix in PAGE_SUFFIXES:
        path = root / (page + suffix)
        if path.is_file():
            return path
    return None


@dataclass
class Staging:
    """What staging did to the links, for the report at the end of the build."""
    copied: set = field(default_factory=set)          # repository files copied for a link
    corrected: list = field(default_factory=list)     # (page, link as written, link in the book)
    as_text: list = field(default_factory=list)       # (page, link) rendered as text


def _rel(target: PurePosixPath, page_dir: PurePosixPath) -> str:
    return os.path.relpath(str(target), str(page_dir) or ".").replace(os.sep, "/")


def fix_link(target: str, page: PurePosixPath, pages: set, root: Path, stage: Path,
             staging: Staging) -> tuple[str | None, str | None]:
    """Decide what one relative link of ``page`` (a repository path) becomes in the book.
    Returns (new target or None to keep the link, plain-text path or None)."""
    bare = target[1:-1] if target.startswith("<") else target
    if not bare or bare.startswith(("#", "/")) or SCHEME.match(bare):
        return None, None
    path, hash_, frag = bare.partition("#")
    page_dir = page.parent
    resolved = PurePosixPath(os.path.normpath(str(page_dir / path)).replace(os.sep, "/"))
    if resolved.parts[:1] == ("..",):                 # outside the repository: leave it
        return None, None
    new = None
    if not (root / resolved).exists() and (root / path).exists():
        resolved = PurePosixPath(os.path.normpath(path).replace(os.sep, "/"))
        new = _rel(resolved, page_dir) + hash_ + frag
        staging.corrected.append((str(page), bare, new))
    full = root / resolved
    if str(resolved) == "README.md":                      # the landing page is index.md
        return _rel(PurePosixPath("index.md"), page_dir) + hash_ + frag, None
    if str(resolved.with_suffix("")) in pages and resolved.suffix in PAGE_SUFFIXES:
        return new, None                                   # a page of the book
    if full.is_file() and resolved.suffix not in PAGE_SUFFIXES:
        dest = stage / resolved
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy(full, dest)
        staging.copied.add(str(resolved))
        return new, None                                   # an image, or a download link
    if full.exists():                                      # a folder, or a page not in the book
        staging.as_text.append((str(page), bare))
        return None, str(resolved) + ("/" if full.is_dir() else "")
    return new, None                                       # nowhere: Sphinx will say so


def fix_markdown(text: str, page: PurePosixPath, pages: set, root: Path, stage: Path,
                 staging: Staging) -> str:
    """Apply :func:`fix_link` to every link and image of a Markdown text, outside code
    blocks and code spans."""
    out, fence = [], None

    def one(m: re.Match) -> str:
        bang, label, target, title = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        new, as_text = fix_link(target, page, pages, root, stage, staging)
        if as_text is not None:
            return f"{label} (`{as_text}`)" if label.strip("` ") != as_text.rstrip("/") else f"`{as_text}`"
        if new is None:
            return m.group(0)
        return f"{bang}[{label}]({new}{title})"

    for line in text.splitlines(keepends=True):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and m and m.group(1).startswith(fence[0]) and len(m.group(1)) >= len(fence):
            fence = None
        elif fence is None:
            pieces, last = [], 0
            for span in CODE_SPAN.finditer(line):
                pieces.append(LINK.sub(one, line[last:span.start()]))
                pieces.append(span.group(0))
                last = span.end()
            pieces.append(LINK.sub(one, line[last:]))
            line = "".join(pieces)
        out.append(line)
    return "".join(out)


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def stage_sources(stage: Path, root: Path = ROOT, toc: Path = TOC) -> Staging:
    """Copy the book's pages into ``stage``, emptied first (the repository's layout;
    README.md with the toc appended becomes index.md), handling their links."""
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    staging = Staging()
    entries = toc_pages(toc)
    missing = [p for p in entries if p not in GENERATED and page_source(p, root) is None]
    if missing:
        raise SystemExit(f"{toc.relative_to(root)} lists pages that do not exist: {missing}")
    pages = set(entries) | {"README"}
    sources = [("README", root / "README.md")] + [(p, page_source(p, root)) for p in entries
                                                  if p not in GENERATED]
    for page, src in sources:
        rel = PurePosixPath(src.relative_to(root).as_posix())
        if src.suffix == ".ipynb":
            nb = json.loads(src.read_text())
            for cell in nb["cells"]:
                if cell["cell_type"] == "markdown":
                    text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    cell["source"] = fix_markdown(text, rel, pages, root, stage, staging)
            dest, text = stage / rel, json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        else:
            text = fix_markdown(src.read_text(), rel, pages, root, stage, staging)
            dest = stage / rel
            if page == "README":
                dest = stage / "index.md"
                text = text.rstrip("\n") + "\n\n" + toc.read_text()
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return staging


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "_build" / "book"),
                    help="build folder: html/ (the book), src/ (staging), doctrees/")
    ap.add_argument("--strict", action="store_true",
                    help="also fail on docstrings that are not valid reStructuredText")
    args = ap.parse_args()
    try:
        from sphinx.cmd.build import build_main
    except ImportError:
        raise SystemExit('Sphinx is not installed: pip install -e ".[book]" (make book does)')
    out = Path(args.out).resolve()
    stage, html, doctrees = out / "src", out / "html", out / "doctrees"
    start = time.time()
    staging = stage_sources(stage)
    for page, written, used in staging.corrected:
        print(f"note: {page}: the link {written} does not resolve beside the page; "
              f"the book uses {used} (fix it in {page})")
    for page, link in staging.as_text:
        print(f"note: {page}: {link} is not a page of the book; shown as its path")
    # Every page is read each time (-E): the theme changes its options as it starts, which
    # makes Sphinx read everything again anyway, and a warning is then never left behind by
    # an earlier build. Old pages are removed from html/ (-a would only rewrite them).
    log = out / "warnings.log"
    shutil.rmtree(html, ignore_errors=True)
    argv = ["-E", "-b", "html", "-c", str(BOOK), "-d", str(doctrees), "-w", str(log), "-q",
            str(stage), str(html)]
    print(f"Sphinx: {len(toc_pages())} pages and the API reference into "
          f"{html.relative_to(ROOT) if html.is_relative_to(ROOT) else html} (about 40 s on 2 cores)", flush=True)
    code = build_main(argv)
    fatal, markup = classify_warnings(log.read_text() if log.exists() else "", stage)
    if markup:
        modules = sorted({api_module(block, stage) for block in markup})
        print(f"note: {len(markup)} warning(s) above are about docstrings that are not valid "
              f"reStructuredText, in {', '.join(modules)} (their API pages show them as written); "
              + ("--strict makes them fail the build" if not args.strict else "failing (--strict)"))
    if args.strict:
        fatal += markup
    if code == 0 and not fatal:
        index = html / "index.html"
        shown = index.relative_to(ROOT) if index.is_relative_to(ROOT) else index
        print(f"built the book in {time.time() - start:.0f} s: {shown}")
        return 0
    print(f"the book did not build: {len(fatal)} warning(s) above"
          if fatal else "the book did not build: Sphinx failed (see above)", file=sys.stderr)
    return 1


WARNING_START = re.compile(r"^(?:\S.*?: )?(?:WARNING|ERROR|CRITICAL|SEVERE): ", re.M)
LOCATION = re.compile(r"^(.*?):(?:\d+:)?(?:<[^>]*>:\d+:)? ?(?:WARNING|ERROR|CRITICAL|SEVERE): ")


def api_module(block: str, stage: Path) -> str:
    """The module whose API page a warning is on (api/d2rl_lib/data/sysu/index.rst)."""
    where = Path(LOCATION.match(block).group(1)).relative_to(stage / "api")
    return ".".join(where.parent.parts) if where.name.startswith("index.") else ".".join(where.with_suffix("").parts)


def classify_warnings(text: str, stage: Path) -> tuple[list, list]:
    """Split Sphinx's warnings into those that fail the book and those about the markup of
    the library's docstrings (docutils' messages on the pages sphinx-autoapi writes into
    api/): a docstring is the library's text, and its page still shows it."""
    starts = [m.start() for m in WARNING_START.finditer(text)]
    fatal, markup = [], []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        block = text[a:b].strip()
        m = LOCATION.match(block)
        where = m.group(1) if m else ""
        in_api = where.startswith(str(stage / "api") + os.sep)
        (markup if in_api and block.endswith("[docutils]") else fatal).append(block)
    return fatal, markup

if __name__ == "__main__":
    sys.exit(main())
