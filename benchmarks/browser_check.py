"""The notebooks in a real browser: JupyterLab from the project's environment, each numbered
notebook opened in headless Chromium, the rendered page checked, and one widget driven by a
live kernel.

    make browser-check                        # = python benchmarks/browser_check.py
    python benchmarks/browser_check.py --only 03

Needs Debian's Chromium (``/usr/bin/chromium``: ``apt-get install chromium``) and Playwright
(``pip install -e ".[browser]"``, which ``make browser-check`` does). For every notebook it
checks, on the page JupyterLab renders, that every markdown cell rendered, that MathJax
typeset the equations, that every saved figure is shown, and that no output is an error.
Then it runs notebook 03 with a live kernel (CI profile, so it trains in seconds and writes
nothing into ``figures/``) and picks other identities in its translation widget, checking
that the figure under the widget is drawn and changes. JupyterLab serves a copy of the
notebooks, so the committed files are never touched. Screenshots go to
``runs/browser-check/`` (not committed), the result to ``results/browser-check.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="notebook number(s), e.g. 03")
    ap.add_argument("--no-widget", action="store_true", help="skip the live-kernel widget check")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for notebook 03 to run")
    ap.add_argument("--out", default=str(ROOT / "results" / "browser-check.json"))
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit('playwright is not installed: pip install -e ".[browser]" (make browser-check does)')
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium)")
    notebooks = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                       if not args.only or p.name[:2] in args.only)
    shots = ROOT / "runs" / "browser-check"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    result = {"command": "python benchmarks/browser_check.py " + " ".join(sys.argv[1:]),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "chromium": subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip(),
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
    result["ok"] = all(r["ok"] for r in result["notebooks"].values()) and result.get("widget", {}).get("ok", True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'passed' if result['ok'] else 'FAILED'}; screenshots in {shots.relative_to(ROOT)}, result in {args.out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
