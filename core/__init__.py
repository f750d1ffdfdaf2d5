"""ClipSeek's engine, through one door: what the desktop app (and anything else) may use.

The window imports nothing from core but these names (``tests/test_facade.py`` holds it to
that, as qutebrowser's ``check_pyqt_imports`` does for Qt): how the engine is cut into modules
can change without touching the GUI, and policy — which library opens, how a name is stored —
stays in core instead of leaking into widgets.

Names are loaded on first use (PEP 562), so ``import core.times`` stays light and the CLI's
start-up does not pay for the window's needs; type checkers see the real imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name → the module that defines it. Grouped by what a caller does with them.
_EXPORTS: dict[str, str] = {
    # opening a library, indexing, searching, status
    "Library": "core.library",
    "open_library": "core.library",
    "indexed_at": "core.library",
    "SyncReport": "core.library",
    "DEFAULT_RATE": "core.library",
    "IndexJob": "core.indexing",
    "IndexReport": "core.indexing",
    "Progress": "core.indexing",
    "VideoOutcome": "core.indexing",
    "SearchResult": "core.search",
    "SegmentRule": "core.segments",
    "DEFAULT_WINDOW": "core.segments",
    "relevance_label": "core.relevance",
    "shown_count": "core.relevance",
    "clock": "core.times",
    # failures, each one line for people
    "LibraryError": "core.errors",
    "LibraryBusy": "core.errors",
    "DiskFull": "core.errors",
    "QueryError": "core.encoders",
    "TokenizerError": "core.tokenizer",
    "BundleError": "core.bundle",
    # models: finding, checking, installing
    "Encoder": "core.encoders",
    "load_bundle": "core.bundle",
    "resolve_model": "core.models",
    "DEMO_MODEL": "core.models",
    "install_model": "core.model_install",
    "DEFAULT_SOURCE": "core.model_install",
    "ModelSource": "core.model_install",
    "InstallProgress": "core.model_install",
    "InstallError": "core.model_install",
    "InstallCancelled": "core.model_install",
    # files: names, folders, what looks like a video, saving a clip
    "readable": "core.pathnames",
    "openable": "core.pathnames",
    "recover": "core.pathnames",
    "to_db": "core.pathnames",
    "from_db": "core.pathnames",
    "cache_dir": "core.paths",
    "config_dir": "core.paths",
    "data_dir": "core.paths",
    "logs_dir": "core.paths",
    "read_head": "core.scanning",
    "is_candidate": "core.scanning",
    "save_segment": "core.segment_export",
    "suggest_name": "core.segment_export",
    "SegmentExportError": "core.segment_export",
    "SegmentExportCancelled": "core.segment_export",
    # the user's choices core honours
    "preferences": "core.preferences",
    # the demo library and its synthetic footage
    "demo_root": "core.demo",
    "demo_captions": "core.demo",
    "make_demo_videos": "core.demo",
    "DEMO_SPLIT_SEED": "core.demo",
    "VideoSpec": "core.synthetic",
    "plan_videos": "core.synthetic",
    "render_video": "core.synthetic",
    "generate_videos": "core.synthetic",
}
#: Exported under another name than the module's own (clearer out of context).
_RENAMED = {
    "relevance_label": "label",
    "plan_videos": "plan",
    "render_video": "render",
    "generate_videos": "generate",
}

# Written out (not sorted(_EXPORTS)) so that type checkers see what is exported;
# tests/test_facade.py checks the two agree.
__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_SOURCE",
    "DEFAULT_WINDOW",
    "DEMO_MODEL",
    "DEMO_SPLIT_SEED",
    "BundleError",
    "DiskFull",
    "Encoder",
    "IndexJob",
    "IndexReport",
    "InstallCancelled",
    "InstallError",
    "InstallProgress",
    "Library",
    "LibraryBusy",
    "LibraryError",
    "ModelSource",
    "Progress",
    "QueryError",
    "SearchResult",
    "SegmentExportCancelled",
    "SegmentExportError",
    "SegmentRule",
    "SyncReport",
    "TokenizerError",
    "VideoOutcome",
    "VideoSpec",
    "cache_dir",
    "clock",
    "config_dir",
    "data_dir",
    "demo_captions",
    "demo_root",
    "from_db",
    "generate_videos",
    "indexed_at",
    "install_model",
    "is_candidate",
    "load_bundle",
    "logs_dir",
    "make_demo_videos",
    "open_library",
    "openable",
    "plan_videos",
    "preferences",
    "read_head",
    "readable",
    "recover",
    "relevance_label",
    "render_video",
    "resolve_model",
    "save_segment",
    "shown_count",
    "suggest_name",
    "to_db",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if name == "preferences" else getattr(loaded, _RENAMED.get(name, name))
    globals()[name] = value  # next time without this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what the names are, for mypy and editors
    from core import preferences
    from core.bundle import BundleError, load_bundle
    from core.demo import DEMO_SPLIT_SEED, demo_captions, demo_root, make_demo_videos
    from core.encoders import Encoder, QueryError
    from core.errors import DiskFull, LibraryBusy, LibraryError
    from core.indexing import IndexJob, IndexReport, Progress, VideoOutcome
    from core.library import DEFAULT_RATE, Library, SyncReport, indexed_at, open_library
    from core.model_install import (
        DEFAULT_SOURCE,
        InstallCancelled,
        InstallError,
        InstallProgress,
        ModelSource,
        install_model,
    )
    from core.models import DEMO_MODEL, resolve_model
    from core.pathnames import from_db, openable, readable, recover, to_db
    from core.paths import cache_dir, config_dir, data_dir, logs_dir
    from core.relevance import label as relevance_label
    from core.relevance import shown_count
    from core.scanning import is_candidate, read_head
    from core.search import SearchResult
    from core.segment_export import (
        SegmentExportCancelled,
        SegmentExportError,
        save_segment,
        suggest_name,
    )
    from core.segments import DEFAULT_WINDOW, SegmentRule
    from core.synthetic import VideoSpec
    from core.synthetic import generate as generate_videos
    from core.synthetic import plan as plan_videos
    from core.synthetic import render as render_video
    from core.times import clock
    from core.tokenizer import TokenizerError
