"""Sphinx configuration of the book (`make book`, which runs docs/book/build.py).

build.py copies the pages into _build/book/src (README.md becomes index.md, with
docs/book/toc.md appended) and runs Sphinx there with this file (``-c docs/book``). The
notebooks are rendered with the outputs they were saved with: myst-nb never runs them.
"""
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# -- The project ------------------------------------------------------------------------
project = "D2RL, an educational reproduction"
release = version = re.search(r'__version__ = "([^"]+)"',
                              (ROOT / "d2rl_lib" / "__init__.py").read_text()).group(1)
root_doc = "index"
language = "en"

extensions = [
    "myst_nb",                    # Markdown pages and notebooks (MyST)
    "autoapi.extension",          # the API reference from the docstrings (api/) ...
    "sphinx.ext.viewcode",        # ... with each object's source
    "sphinx.ext.mathjax",         # equations, with the MathJax copied into the book (below)
]

# -- Notebooks and Markdown (myst-nb, myst-parser) -------------------------------------
nb_execution_mode = "off"         # the stored outputs of `make demo`; never executed here
nb_merge_streams = True           # a cell's printed lines as one block, as in Jupyter
myst_enable_extensions = ["dollarmath", "amsmath"]   # $...$ and $$...$$ as in Jupyter/GitHub
myst_heading_anchors = 3          # links to #a-heading work as on GitHub

# -- The API reference (sphinx-autoapi) -------------------------------------------------
# One page per module of d2rl_lib and its subpackages, read from the source (nothing is
# imported: no torch at build time, and python -m d2rl_lib's __main__ is never run).
autoapi_dirs = [str(ROOT / "d2rl_lib")]
autoapi_root = "api"                      # api/index.rst, which toc.md lists
autoapi_add_toctree_entry = True          # writes api/index.rst (already in the toc: no entry added)
autoapi_template_dir = str(Path(__file__).parent / "_templates" / "autoapi")
autoapi_options = ["members", "undoc-members", "show-inheritance", "show-module-summary"]
autoapi_member_order = "bysource"
autoapi_python_class_content = "both"     # a class's docstring and its __init__'s
autoapi_keep_files = True                 # the pages a warning names stay in _build/book/src/api
# autoapi reads the source without running it, and cannot follow names bound by unpacking
# (``VISIBLE, INFRARED = 0, 1`` in data/records.py, imported by many modules): it warns once
# per import and documents the module all the same. Those warnings say nothing about the book.
suppress_warnings = ["autoapi.python_import_resolution"]

# -- HTML ------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,  # the page's source: a lesson's .ipynb, to run it
    "use_fullscreen_button": True,  # for the projector
    "use_repository_button": False,
    "navigation_with_keys": False,
}
# light by default (the reader can switch): the figures and tables are drawn on white
html_context = {"default_mode": "light"}
html_sourcelink_suffix = ""       # the download button offers the .ipynb itself
html_show_copyright = False
html_last_updated_fmt = None

# MathJax 3 from the book itself (sphinx-mathjax-offline ships its files), not from a CDN:
# the book then shows its equations offline too, on a classroom laptop or from file://.
mathjax_path = "mathjax/tex-chtml.js"
MATHJAX_PARTS = ["tex-chtml.js", "input", "output", "ui", "a11y", "sre", "adaptors"]

WIDGET_VIEW = '<script type="application/vnd.jupyter.widget-view+json">'
WIDGET_NOTE = ("In Jupyter, with a live kernel, controls here (ipywidgets) redraw the figure "
               "above for another choice; the book shows the figure the notebook was saved with.")


def copy_mathjax(app, exc):
    """Copy the parts of MathJax 3 that tex-chtml.js loads into _static/mathjax."""
    if exc is not None or app.builder.format != "html":
        return
    import importlib.util
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError('MathJax not found: pip install -e ".[book]" (sphinx-mathjax-offline)')
    src = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    dest = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part, dirs_exist_ok=True)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dest / part)


def note_widgets(app, doctree):
    """A saved notebook keeps its widgets' views but not their state: nothing would show
    where a widget stands. Put a short note there instead."""
    from docutils import nodes
    for raw in list(doctree.findall(nodes.raw)):
        if raw.astext().startswith(WIDGET_VIEW):
            note = nodes.paragraph("", "", nodes.emphasis(WIDGET_NOTE, WIDGET_NOTE))
            raw.replace_self(nodes.container("", note, classes=["widget-note"]))


def setup(app):
    app.connect("doctree-read", note_widgets)
    app.connect("build-finished", copy_mathjax)
