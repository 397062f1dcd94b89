"""Sphinx configuration of the memberflow documentation: `bash scripts/docs.sh` builds it.

The pages are Markdown (MyST); the API reference is read from the docstrings of the
installed package (autodoc), and the command-line reference from its argparse parser
(sphinx-argparse), so neither can drift from the code. The build runs with warnings
as errors, in scripts/docs.sh and in tests/python/test_docs.py.
"""

import memberflow

project = "memberflow"
author = "the memberflow developers"
release = memberflow.__version__
version = release

extensions = [
    "myst_parser",          # the Markdown pages, docs/*.md, as they are
    "sphinx.ext.autodoc",   # the API reference from the docstrings
    "sphinx.ext.napoleon",  # docstrings with Google/NumPy sections
    "sphinx.ext.mathjax",   # the model's equations
    "sphinxarg.ext",        # the command-line reference from memberflow.cli's parser
    "matplotlib.sphinxext.plot_directive",  # the guide's figures, drawn by memberflow.plot at build time
]

source_suffix = {".md": "markdown"}
# Literal text: "--units" in the command-line help must not become an en dash.
smartquotes = False
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

# $...$ and $$...$$ for equations; heading anchors so that `page.md#a-heading` links resolve.
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3

# Figures: the code shown above each, one PNG, no links to other formats.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 96)]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"  # the annotations, in the signature
autodoc_class_signature = "separated"
# The docstrings use NumPy sections (Parameters, Notes); the Google style would read a
# property's first line "Current stocks: ..." as a type.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_param = False  # "DataFrame or CSV path, optional" is prose, not a class to link

# Every cross-reference must resolve (with -W a broken one fails the build), except those
# into other projects: their inventories would be fetched over the network (intersphinx),
# which a build must not need; and the compiled module's classes, which the Python
# classes wrap and the reference does not document.
nitpicky = True
nitpick_ignore_regex = [
    ("py:.*", r"(pandas|pd|numpy|np|os|pathlib|collections\.abc|typing|matplotlib)\..*"),
    ("py:class", r"memberflow\._core\..*"),
    # memberflow.types' aliases as the signatures name them (documented there as data, not
    # classes), and pathlib's Path as annotations spell it
    ("py:class", r"(UnitId|Quantity|Method|Level|Window|MonthLike|PathLike|TableLike|ProgressOption|Scope|Regime"
                 r"|Track|Threshold|Key|Uncertainty|Course|Rule|Sweep|Path)"),
]

# Code blocks without a language (directory trees, usage lines) are plain text.
highlight_language = "text"

html_theme = "alabaster"
html_title = f"memberflow {release}"
html_show_copyright = False
html_theme_options = {"description": "Organisation graphs and membership-pipeline forecasts",
                      "fixed_sidebar": True,
                      # wide enough for the examples' 100-column lines and the model's equations
                      "page_width": "1240px", "sidebar_width": "250px", "body_max_width": "none"}


def _napoleon_except_attributes(app, what, name, obj, options, lines):
    """Napoleon's docstring processing, but not for properties and attributes: napoleon
    reads their first line "Current stocks: unit_id, ..." as "type: description", while
    this project's property docstrings are prose (and their types are annotations)."""
    from sphinx.ext.napoleon import _process_docstring

    if what not in ("attribute", "property"):
        _process_docstring(app, what, name, obj, options, lines)


def setup(app):
    from sphinx.ext.napoleon import _process_docstring

    for listener in list(app.events.listeners["autodoc-process-docstring"]):
        if listener.handler is _process_docstring:
            app.disconnect(listener.id)
    app.connect("autodoc-process-docstring", _napoleon_except_attributes)
