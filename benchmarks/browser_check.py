"""The notebooks in a real browser: JupyterLab from the project's environment, each numbered
notebook opened in headless Chromium, the rendered page checked, and one widget driven by a
live kernel; then every page of the static book (`make book`).

    make browser-check                        # = python benchmarks/browser_check.py
    python benchmarks/browser_check.py --only 03
    python benchmarks/browser_check.py --only-book      # the book alone (after make book)

Needs Debian's Chromium (``/usr/bin/chromium``: ``apt-get install chromium``) and Playwright
(``pip install -e ".[browser]"``, which ``make browser-check`` does). For every notebook it
checks, on the page JupyterLab renders, that every markdown cell rendered, that MathJax
typeset the equations, that every saved figure is shown, and that no output is an error.
Then it runs notebook 03 with a live kernel (CI profile, so it trains in seconds and writes
nothing into ``figures/``) and picks other identities in its translation widget, checking
that the figure under the widget is drawn and changes. JupyterLab serves a copy of the
notebooks, so the committed files are never touched. Screenshots go to
``runs/browser-check/`` (not committed), the result to ``results/browser-check.json``.

The book (``_build/book/html``, built by ``make book``; ``--no-book`` skips it) is served by
Python's http.server on 127.0.0.1, and every HTML page of it is opened: the page must load
with no failed request, no JavaScript error and no error in the console; every equation of
the HTML (``.math``) must have been typeset by MathJax (an ``mjx-container`` inside, no
``mjx-merror``); every image must have loaded (``naturalWidth > 0``); and every link within
the book must lead to a file of the book and, with a ``#fragment``, to an element of that
page with that id. A search for a word must find pages. ``--only-book`` keeps the notebooks'
entries of the result file as they are and replaces its ``book`` entry; its screenshots go
to ``runs/browser-check/book/``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Chromium on a machine without network: no background connections, no sandbox as root
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# JupyterLab: render every cell (no windowing), never autosave, no news pop-up
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
            "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}
WIDGET_NOTEBOOK = "03_image_translation.ipynb"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"       # the notebook in front (earlier ones stay open)
BOOK = ROOT / "_build" / "book" / "html"
BOOK_ASSETS = {"_static", "_sources", "_images", "_downloads"}   # not pages
BOOK_GENERATED = ("api/", "_modules/", "genindex.html", "py-modindex.html", "search.html")
BOOK_SEARCH = "modality"                              # a word the lessons use
PHONE = {"width": 390, "height": 844}


def expected(path: Path) -> dict:
    """What the saved notebook holds: markdown cells, equations, figures, errors."""
    nb = nbformat.read(path, as_version=4)
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return {"markdown": len(md), "has_equations": any("$" in c.source for c in md),
            "images": sum("image/png" in o.get("data", {}) for o in outputs),
            "errors": sum(o.get("output_type") == "error" for o in outputs)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(serve: Path, settings: Path, port: int, token: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), D2RL_PRESET="synthetic-ci",
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    lab = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
                            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={serve}",
                            "--allow-root"], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return lab
        except OSError:
            if lab.poll() is not None:
                break
            time.sleep(0.5)
    lab.terminate()
    raise SystemExit(f"JupyterLab did not start; its log: {log}")


def open_notebook(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_load_state("networkidle")
    last, stable = -1, 0
    for _ in range(60):                              # until MathJax and the images settle
        n = page.evaluate(f"document.querySelectorAll('{PANEL} mjx-container, {PANEL} .jp-RenderedImage img').length")
        stable = stable + 1 if n == last else 0
        if stable >= 3:
            break
        last = n
        time.sleep(0.5)


def rendered(page) -> dict:
    return page.evaluate("""(panel) => {
        const n = (sel) => document.querySelectorAll(`${panel} ${sel}`).length;
        return {markdown: n('.jp-Notebook .jp-MarkdownCell'),
                rendered_markdown: n('.jp-MarkdownCell .jp-RenderedMarkdown'),
                equations: n('.jp-RenderedMarkdown mjx-container'),
                images: n('.jp-OutputArea .jp-RenderedImage img'),
                errors: n('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')};
    }""", PANEL)


def check_notebook(page, url: str, path: Path, shots: Path) -> dict:
    open_notebook(page, url)
    want, got = expected(path), rendered(page)
    page.screenshot(path=str(shots / f"{path.stem}.png"))
    ok = (got["markdown"] == want["markdown"] == got["rendered_markdown"]
          and got["images"] == want["images"] and got["errors"] == want["errors"] == 0
          and (got["equations"] > 0 or not want["has_equations"]))
    return {"saved": want, "rendered": got, "ok": ok}


def check_widget(page, url: str, shots: Path, timeout_s: int) -> dict:
    """Run every cell of notebook 03 with a live kernel, then pick two other identities in
    its translation widget: the figure under the widget must appear and change."""
    open_notebook(page, url)
    page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
    page.click("li.lm-Menu-item:has-text('Run All Cells')")
    select = page.locator(f"{PANEL} .widget-dropdown select").first   # the widget's identity
    select.wait_for(timeout=timeout_s * 1000)
    output = page.locator(f"{PANEL} .widget-vbox .widget-output").first
    images = []
    for option in select.locator("option").all_inner_texts()[1:3]:
        select.select_option(label=option)
        deadline = time.time() + 120
        while time.time() < deadline:
            srcs = output.locator("img").evaluate_all("els => els.map(e => e.src)")
            if srcs and (not images or srcs[-1] != images[-1]):
                images.append(srcs[-1])
                break
            time.sleep(0.5)
    page.locator(f"{PANEL} .widget-vbox").first.screenshot(path=str(shots / "widget_after_pick.png"))
    errors = rendered(page)["errors"]
    return {"notebook": WIDGET_NOTEBOOK, "figures_drawn": len(images),
            "changed": len(images) == 2 and images[0] != images[1], "errors": errors,
            "ok": len(images) == 2 and images[0] != images[1] and errors == 0}


class _SavedPage(HTMLParser):
    """What a page of the book holds as built: its math elements, images, links and ids."""

    def __init__(self):
        super().__init__()
        self.math = self.images = self.markup = 0
        self.links, self.ids, self._last = [], set(), None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if "math" in classes:
            self.math += 1
        if tag == "img":
            self.images += 1
        if tag == "span" and "problematic" in classes and self._last == "a":
            # docutils' mark on text it could not read (a docstring that is not valid
            # reStructuredText, which make book reports): its link goes to a message the
            # page does not show, so it is counted, not followed
            self.links.pop()
            self.markup += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        self._last = tag if tag != "a" or a.get("href") else None


@functools.lru_cache(maxsize=None)
def saved_page(path: Path) -> _SavedPage:
    page = _SavedPage()
    page.feed(path.read_text(errors="replace"))
    return page


def book_pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html")
                  if p.relative_to(html).parts[0] not in BOOK_ASSETS)


def broken_links(html: Path, page: Path) -> tuple[list, int, int]:
    """The links of a page that lead nowhere in the book: (broken, internal, external)."""
    broken, internal, external = [], 0, 0
    for href in saved_page(page).links:
        url = urllib.parse.urlsplit(href)
        if url.scheme or url.netloc:
            external += url.scheme in ("http", "https")
            continue
        internal += 1
        target = page if not url.path else (page.parent / urllib.parse.unquote(url.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or not target.is_relative_to(html.resolve()):
            broken.append(href)
        elif url.fragment and target.suffix == ".html" and \
                urllib.parse.unquote(url.fragment) not in saved_page(target).ids:
            broken.append(href)
    return broken, internal, external


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_book(html: Path) -> http.server.ThreadingHTTPServer:
    """The book on 127.0.0.1, a port of the system's choosing, in a thread of this process."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def open_book_page(page, url: str, problems: list) -> None:
    """Open a page of the book and wait until MathJax has typeset it and its images are in;
    what goes wrong on the way goes into ``problems``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        problems.append(f"HTTP {response.status if response else 'no response'}")
    page.wait_for_load_state("networkidle")
    # MathJax loads deferred and typesets on start-up: wait for it where the page has math
    # (unless its script has already failed to load)
    if not any("mathjax" in p.lower() for p in problems):
        try:
            page.wait_for_function("() => !document.querySelector('.math') || "
                                   "(window.MathJax && MathJax.startup && MathJax.startup.promise)",
                                   timeout=30_000)
            page.evaluate("async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
                          " await MathJax.startup.promise; }")
        except PlaywrightTimeout:
            problems.append("MathJax did not start within 30 s")
    # images lower on the page too: load every one, then wait until each has loaded or failed
    page.evaluate("""async () => {
        const imgs = [...document.images];
        imgs.forEach(i => { i.loading = 'eager'; });
        await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
            i.addEventListener('load', r); i.addEventListener('error', r); setTimeout(r, 20000); })));
    }""")


def book_rendered(page) -> dict:
    return page.evaluate("""() => {
        const imgs = [...document.images];
        const math = [...document.querySelectorAll('.math')];
        return {equations: math.filter(e => e.querySelector('mjx-container')).length,
                math_errors: document.querySelectorAll('mjx-merror').length,
                images: imgs.length,
                images_loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
                title: document.title};
    }""")


def check_book_page(page, url: str, html: Path, path: Path, problems: list) -> dict:
    problems.clear()
    open_book_page(page, url, problems)
    saved, got = saved_page(path), book_rendered(page)
    broken, internal, external = broken_links(html, path)
    got["broken_links"], got["errors"] = broken, list(problems)
    ok = (not problems and not broken and got["math_errors"] == 0
          and got["equations"] == saved.math and got["images_loaded"] == got["images"] == saved.images)
    return {"saved": {"math": saved.math, "images": saved.images, "internal_links": internal,
                      "external_links": external, "docstring_markup": saved.markup},
            "rendered": got, "ok": ok}


def check_search(page, base: str, problems: list) -> dict:
    problems.clear()
    open_book_page(page, f"{base}/search.html?q={BOOK_SEARCH}", problems)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    try:
        page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0 || "
                               "/did not match|no pages/i.test(document.querySelector('#search-results')?.textContent || '')",
                               timeout=30_000)
    except PlaywrightTimeout:
        problems.append("the search page showed no result within 30 s")
    found = page.evaluate("() => document.querySelectorAll('#search-results li').length")
    return {"query": BOOK_SEARCH, "pages_found": found, "errors": list(problems),
            "ok": found > 0 and not problems}


def check_book(browser, html: Path, shots: Path) -> dict:
    """Every page of the built book in Chromium: rendered, typeset, its images and links."""
    shots.mkdir(parents=True, exist_ok=True)
    server = serve_book(html)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda e: problems.append(f"JavaScript: {e}"))
    # Chromium asks every site for /favicon.ico by itself; the book has none, and no page asks for it
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    result = {"html": str(html.relative_to(ROOT)) if html.is_relative_to(ROOT) else str(html),
              "built": datetime.fromtimestamp((html / "index.html").stat().st_mtime, timezone.utc)
              .strftime("%Y-%m-%d %H:%M UTC"),
              "screenshots": str(shots.relative_to(ROOT)) if shots.is_relative_to(ROOT) else str(shots),
              "pages": {}, "generated": {"pages": 0, "ok": 0, "equations": 0, "images": 0,
                                          "internal_links": 0, "docstring_markup": {}, "failed": {}}}
    try:
        for path in book_pages(html):
            name = path.relative_to(html).as_posix()
            r = check_book_page(page, f"{base}/{name}", html, path, problems)
            if name.startswith(BOOK_GENERATED):      # the API reference, source and index pages
                g = result["generated"]
                g["pages"] += 1
                g["ok"] += r["ok"]
                g["equations"] += r["rendered"]["equations"]
                g["images"] += r["rendered"]["images_loaded"]
                g["internal_links"] += r["saved"]["internal_links"]
                if r["saved"]["docstring_markup"]:
                    g["docstring_markup"][name] = r["saved"]["docstring_markup"]
                if not r["ok"]:
                    g["failed"][name] = r
            else:                                    # the lessons, the docs, the landing page
                result["pages"][name] = r
                page.screenshot(path=str(shots / (name.replace("/", "__")[:-5] + ".png")))
            if not r["ok"] or not name.startswith(BOOK_GENERATED):
                print(f"book {name}: {'ok' if r['ok'] else 'FAILED'} {r['rendered']}", flush=True)
        print(f"book, generated pages: {result['generated']['ok']}/{result['generated']['pages']} ok",
              flush=True)
        open_book_page(page, f"{base}/api/index.html", [])
        page.screenshot(path=str(shots / "api__index.png"))
        result["search"] = check_search(page, base, problems)
        print(f"book search for {BOOK_SEARCH!r}: {result['search']}", flush=True)
        phone = browser.new_page(viewport=PHONE, is_mobile=True, device_scale_factor=2)
        for name in ("index.html", "notebooks/01_modality_gap.html"):
            if (html / name).exists():
                open_book_page(phone, f"{base}/{name}", [])
                phone.screenshot(path=str(shots / ("phone__" + name.replace("/", "__")[:-5] + ".png")))
        phone.close()
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    result["ok"] = (bool(result["pages"]) and all(r["ok"] for r in result["pages"].values())
                    and result["generated"]["ok"] == result["generated"]["pages"] and result["search"]["ok"])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="notebook number(s), e.g. 03")
    ap.add_argument("--no-widget", action="store_true", help="skip the live-kernel widget check")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for notebook 03 to run")
    ap.add_argument("--only-book", action="store_true",
                    help="check the built book alone; the notebooks' entries of --out stay as they are")
    ap.add_argument("--no-book", action="store_true", help="skip the book")
    ap.add_argument("--book", default=str(BOOK), help="the built book (make book)")
    ap.add_argument("--out", default=str(ROOT / "results" / "browser-check.json"))
    args = ap.parse_args()
    if args.only_book and args.no_book:
        ap.error("--only-book and --no-book exclude each other")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit('playwright is not installed: pip install -e ".[browser]" (make browser-check does)')
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium)")
    book = Path(args.book).resolve()
    if not args.no_book and not (book / "index.html").exists():
        raise SystemExit(f"no book in {book}: build it first (make book), or pass --no-book")
    command = "python benchmarks/browser_check.py " + " ".join(sys.argv[1:])
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    shots = ROOT / "runs" / "browser-check"
    if args.only_book:
        out = Path(args.out)
        result = json.loads(out.read_text()) if out.exists() else {"notebooks": {}}
    else:
        result = check_notebooks(args, shots, command, date, chromium)
    if not args.no_book:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            result["book"] = {"command": command, "date": date, "chromium": chromium,
                              **check_book(browser, book, shots / "book")}
            browser.close()
    result["ok"] = (all(r["ok"] for r in result.get("notebooks", {}).values())
                    and result.get("widget", {}).get("ok", True) and result.get("book", {}).get("ok", True))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'passed' if result['ok'] else 'FAILED'}; screenshots in {shots.relative_to(ROOT)}, result in {args.out}")
    return 0 if result["ok"] else 1


def check_notebooks(args, shots: Path, command: str, date: str, chromium: str) -> dict:
    """The numbered notebooks in JupyterLab, and the widget of notebook 03."""
    from playwright.sync_api import sync_playwright
    notebooks = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                       if not args.only or p.name[:2] in args.only)
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    result = {"command": command, "date": date, "chromium": chromium,
              "screenshots": str(shots.relative_to(ROOT)), "notebooks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        serve, settings = Path(tmp) / "serve", Path(tmp) / "settings"
        shutil.copytree(ROOT / "notebooks", serve / "notebooks",
                        ignore=shutil.ignore_patterns(".*", "*.out.ipynb"))
        for name, values in SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        port, token = free_port(), "d2rl-browser-check"
        lab = start_lab(serve, settings, port, token, shots / "jupyterlab.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": 1280, "height": 2000})
                for path in notebooks:
                    url = f"http://127.0.0.1:{port}/lab/tree/notebooks/{path.name}?token={token}"
                    result["notebooks"][path.name] = r = check_notebook(page, url, path, shots)
                    print(f"{path.name}: {'ok' if r['ok'] else 'FAILED'} {r['rendered']}", flush=True)
                if not args.no_widget and (not args.only or WIDGET_NOTEBOOK[:2] in args.only):
                    page = browser.new_page(viewport={"width": 1280, "height": 2000})
                    url = f"http://127.0.0.1:{port}/lab/tree/notebooks/{WIDGET_NOTEBOOK}?token={token}"
                    result["widget"] = w = check_widget(page, url, shots, args.timeout)
                    print(f"widget in {WIDGET_NOTEBOOK}: {'ok' if w['ok'] else 'FAILED'} {w}", flush=True)
                browser.close()
        finally:
            lab.terminate()
            lab.wait(30)
    return result


if __name__ == "__main__":
    sys.exit(main())
