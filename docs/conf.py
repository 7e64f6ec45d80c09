"""Sphinx configuration of the scclast documentation (scverse style, built offline).

Build with ``bash docs/build.sh`` (warnings are errors; every tutorial is executed).
Nothing here reaches the network: intersphinx is not used, and the tutorials run with
``SCCLAST_OFFLINE=1`` on the bundled data.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent

# The tutorials' kernels inherit this environment: no download, and the build's own
# `scclast` command first on PATH (also when sphinx-build is called without activating
# the venv). MPLBACKEND is left alone: the kernel's inline backend is what shows the
# figures. Deprecation warnings of the libraries and tqdm's "IProgress not found" (no
# ipywidgets) would only clutter the pages.
os.environ["SCCLAST_OFFLINE"] = "1"
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.pop("MPLBACKEND", None)
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore:IProgress not found")
# sphinx-autodoc-typehints 3.6 calls an API Sphinx 10 will remove: noise on every page,
# not a problem of these docs (Sphinx's own warnings still fail the build under -W).
warnings.filterwarnings("ignore", message=".*set_application.*", category=DeprecationWarning)

import scclast  # noqa: E402
import scclast.datasets  # noqa: E402
import scclast.get  # noqa: E402
import scclast.pl  # noqa: E402
import scclast.testing  # noqa: E402
import scclast.tl  # noqa: E402

project = "scclast"
author = "scclast developers"
copyright = f"{date.today():%Y}, {author}"
release = scclast.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx_autodoc_typehints",  # types from the annotations (scanpydoc formats them)
    # scanpydoc's parts, without rtd_github_links (it needs a hosted repository URL)
    "scanpydoc.definition_list_typed_field",
    "scanpydoc.elegant_typehints",
    "scanpydoc.theme",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "build.sh"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"
# A reference that does not resolve is a warning (and -W makes it an error): a renamed
# function or a stale name in a tutorial fails the build. Names outside scclast are not
# resolved (no intersphinx: the build is offline), so they are exempt below.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(anndata|numpy|np|pandas|pd|scipy|matplotlib|dask|pathlib|os|typing|"
        r"collections|dataclasses|datetime|enum|types|builtins|liana|pydeseq2|statsmodels|"
        r"gseapy|pooch|h5py|scanpy|mudata|xarray|numba)(\..*)?",
    ),
    (
        r"py:class",
        r"(AnnData|DataFrame|Series|Index|Figure|Axes|Path|PathLike|ndarray|"
        r"spmatrix|sparray|Any|Literal|Mapping|Sequence|Iterable|Callable|Iterator|"
        r"NoneType|TypeVar|Self|F)",
    ),
    (
        r"py:(class|obj|data)",
        r"(int|float|str|bool|dict|list|tuple|set|bytes|None|object|"
        r"type|frozenset|complex|callable|optional|Ellipsis)",
    ),
]

# autosummary writes one page per object into api/generated/ (not kept in git)
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = True
napoleon_use_param = True
napoleon_use_ivar = False
napoleon_custom_sections = [("Params", "Parameters")]
typehints_defaults = "braces"


def _public_names() -> dict[str, str]:
    """Where each public class is documented, keyed by where it is defined.

    Type hints name a class by its defining (private) module, e.g.
    ``scclast.tl._lineage_rules.LineageRules``; scanpydoc's ``qualname_overrides`` sends
    such links to the documented name, ``scclast.tl.LineageRules``.
    """
    names = {}
    for namespace in (
        scclast,
        scclast.tl,
        scclast.pl,
        scclast.get,
        scclast.datasets,
        scclast.genesets,
        scclast.testing,
    ):
        for name in getattr(namespace, "__all__", ()):
            obj = getattr(namespace, name)
            if isinstance(obj, type) and obj.__module__ != namespace.__name__:
                names[f"{obj.__module__}.{obj.__qualname__}"] = f"{namespace.__name__}.{name}"
    return names


qualname_overrides = _public_names()


def _resolve_private(app, env, node, contnode):
    """Show a link into a private module as plain code, if the name exists.

    Public docstrings point to private modules for detail (``scclast._keys``,
    ``scclast.tl._flag._decision``); those are not part of the documented API, so they
    have no page. The name is looked up: an existing one renders as code, a stale one
    stays a missing reference, which ``-W`` turns into a failed build.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("scclast.") or "._" not in target:
        return None
    return contnode if _exists(target) else None


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def setup(app):
    app.connect("missing-reference", _resolve_private)


always_use_bars_union = True

# MyST and myst-nb: the tutorials are executed at build time, each cell with a time
# limit; a failing cell fails the build. "cache" keeps results in _build/.jupyter_cache,
# so an unchanged tutorial is not re-run by a second build (CI builds from scratch).
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
# each tutorial runs in a temporary folder: its output folders never land in docs/
nb_execution_in_temp = True
nb_execution_excludepatterns = ["coupling_liana_comparison.md"]
nb_merge_streams = True
nb_output_stderr = "show"

html_theme = "scanpydoc"
html_title = f"scclast {release}"
html_show_sourcelink = False
html_theme_options = {"show_toc_level": 2}

suppress_warnings = []
