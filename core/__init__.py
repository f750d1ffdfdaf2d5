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
    "indexed_at": "core.location",
    "SyncReport": "core.ingest.sync",
    "DEFAULT_RATE": "core.location",
    "IndexJob": "core.ingest.job",
    "IndexReport": "core.ingest.job",
    "Progress": "core.ingest.job",
    "VideoOutcome": "core.ingest.job",
    "SearchResult": "core.query.ranking",
    "QueryRoute": "core.query.towers",
    "SpeechJob": "core.speech.job",
    "SpeechProgress": "core.speech.job",
    "SpeechReport": "core.speech.job",
    "Transcriber": "core.speech.transcript",
    "speech_model_folder": "core.speech.models",
    "open_transcriber": "core.speech.models",
    "QUERY_LANGUAGES": "core.query.towers",
    "language_name": "core.query.towers",
    "ORDERS": "core.query.ranking",
    "Period": "core.query.period",
    "LAST_DAY": "core.query.period",
    "PeriodError": "core.query.period",
    "ANY_TIME": "core.query.period",
    "LibraryStatus": "core.status",
    "FolderStatus": "core.status",
    "FileNote": "core.status",
    "SegmentRule": "core.ingest.segments",
    "DEFAULT_WINDOW": "core.ingest.segments",
    "relevance_label": "core.query.relevance",
    "shown_count": "core.query.relevance",
    "clock": "core.times",
    # failures, each one line for people
    "LibraryError": "core.errors",
    "LibraryBusy": "core.errors",
    "DiskFull": "core.errors",
    "QueryError": "core.model.encoder",
    "TokenizerError": "core.model.tokenizer",
    "BundleError": "core.model.bundle",
    # models: finding, checking, installing
    "Encoder": "core.model.encoder",
    "load_bundle": "core.model.bundle",
    "resolve_model": "core.model.registry",
    "models_dir": "core.model.registry",
    "DEMO_MODEL": "core.model.registry",
    "install_model": "core.model.install",
    "already_installed": "core.model.install",
    "install_multilingual": "core.model.install_tower",
    "MULTILINGUAL_SOURCE": "core.model.sources",
    "MULTILINGUAL_DOWNLOAD_BYTES": "core.model.sources",
    "precision_for_this_machine": "core.model.sources",
    "DEFAULT_SOURCE": "core.model.sources",
    "ModelSource": "core.model.sources",
    "InstallProgress": "core.model.sources",
    "InstallError": "core.model.sources",
    "InstallCancelled": "core.model.sources",
    # speech models (Whisper, CTranslate2): installing, finding, checking
    "install_speech": "core.speech.install",
    "installed_speech": "core.speech.install",
    "installed_speech_models": "core.speech.install",
    "load_speech_model": "core.speech.install",
    "SPEECH_SOURCES": "core.speech.install",
    "SpeechSource": "core.speech.install",
    "SpeechModelError": "core.speech.install",
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
    "read_head": "core.ingest.scan",
    "is_candidate": "core.ingest.scan",
    "save_segment": "core.clips",
    "suggest_name": "core.clips",
    "SegmentExportError": "core.clips",
    "SegmentExportCancelled": "core.clips",
    # the user's choices core honours
    "preferences": "core.preferences",
    # the demo library and its synthetic footage
    "demo_root": "core.demo.library",
    "demo_captions": "core.demo.library",
    "demo_pairs": "core.demo.library",
    "choose_example": "core.demo.library",
    "make_demo_videos": "core.demo.library",
    "DEMO_SPLIT_SEED": "core.demo.library",
    "VideoSpec": "core.demo.synthetic",
    "plan_videos": "core.demo.synthetic",
    "render_video": "core.demo.synthetic",
    "generate_videos": "core.demo.synthetic",
}
#: Exported under another name than the module's own (clearer out of context).
_RENAMED = {
    "relevance_label": "label",
    "QueryRoute": "Route",
    "plan_videos": "plan",
    "render_video": "render",
    "generate_videos": "generate",
}

# Written out (not sorted(_EXPORTS)) so that type checkers see what is exported;
# tests/test_facade.py checks the two agree.
__all__ = [
    "ANY_TIME",
    "DEFAULT_RATE",
    "DEFAULT_SOURCE",
    "DEFAULT_WINDOW",
    "DEMO_MODEL",
    "DEMO_SPLIT_SEED",
    "LAST_DAY",
    "MULTILINGUAL_DOWNLOAD_BYTES",
    "MULTILINGUAL_SOURCE",
    "ORDERS",
    "QUERY_LANGUAGES",
    "SPEECH_SOURCES",
    "BundleError",
    "DiskFull",
    "Encoder",
    "FileNote",
    "FolderStatus",
    "IndexJob",
    "IndexReport",
    "InstallCancelled",
    "InstallError",
    "InstallProgress",
    "Library",
    "LibraryBusy",
    "LibraryError",
    "LibraryStatus",
    "ModelSource",
    "Period",
    "PeriodError",
    "Progress",
    "QueryError",
    "QueryRoute",
    "SearchResult",
    "SegmentExportCancelled",
    "SegmentExportError",
    "SegmentRule",
    "SpeechJob",
    "SpeechModelError",
    "SpeechProgress",
    "SpeechReport",
    "SpeechSource",
    "SyncReport",
    "TokenizerError",
    "Transcriber",
    "VideoOutcome",
    "VideoSpec",
    "already_installed",
    "cache_dir",
    "choose_example",
    "clock",
    "config_dir",
    "data_dir",
    "demo_captions",
    "demo_pairs",
    "demo_root",
    "from_db",
    "generate_videos",
    "indexed_at",
    "install_model",
    "install_multilingual",
    "install_speech",
    "installed_speech",
    "installed_speech_models",
    "is_candidate",
    "language_name",
    "load_bundle",
    "load_speech_model",
    "logs_dir",
    "make_demo_videos",
    "models_dir",
    "open_library",
    "open_transcriber",
    "openable",
    "plan_videos",
    "precision_for_this_machine",
    "preferences",
    "read_head",
    "readable",
    "recover",
    "relevance_label",
    "render_video",
    "resolve_model",
    "save_segment",
    "shown_count",
    "speech_model_folder",
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
    from core.clips import (
        SegmentExportCancelled,
        SegmentExportError,
        save_segment,
        suggest_name,
    )
    from core.demo.library import (
        DEMO_SPLIT_SEED,
        choose_example,
        demo_captions,
        demo_pairs,
        demo_root,
        make_demo_videos,
    )
    from core.demo.synthetic import VideoSpec
    from core.demo.synthetic import generate as generate_videos
    from core.demo.synthetic import plan as plan_videos
    from core.demo.synthetic import render as render_video
    from core.errors import DiskFull, LibraryBusy, LibraryError
    from core.ingest.job import IndexJob, IndexReport, Progress, VideoOutcome
    from core.ingest.scan import is_candidate, read_head
    from core.ingest.segments import DEFAULT_WINDOW, SegmentRule
    from core.ingest.sync import SyncReport
    from core.library import Library, open_library
    from core.location import DEFAULT_RATE, indexed_at
    from core.model.bundle import BundleError, load_bundle
    from core.model.encoder import Encoder, QueryError
    from core.model.install import already_installed, install_model
    from core.model.install_tower import install_multilingual
    from core.model.registry import DEMO_MODEL, models_dir, resolve_model
    from core.model.sources import (
        DEFAULT_SOURCE,
        MULTILINGUAL_DOWNLOAD_BYTES,
        MULTILINGUAL_SOURCE,
        InstallCancelled,
        InstallError,
        InstallProgress,
        ModelSource,
        precision_for_this_machine,
    )
    from core.model.tokenizer import TokenizerError
    from core.pathnames import from_db, openable, readable, recover, to_db
    from core.paths import cache_dir, config_dir, data_dir, logs_dir
    from core.query.period import ANY_TIME, LAST_DAY, Period, PeriodError
    from core.query.ranking import ORDERS, SearchResult
    from core.query.relevance import label as relevance_label
    from core.query.relevance import shown_count
    from core.query.towers import QUERY_LANGUAGES, language_name
    from core.query.towers import Route as QueryRoute
    from core.speech.install import (
        SPEECH_SOURCES,
        SpeechModelError,
        SpeechSource,
        install_speech,
        installed_speech,
        installed_speech_models,
        load_speech_model,
    )
    from core.speech.job import SpeechJob, SpeechProgress, SpeechReport
    from core.speech.models import open_transcriber, speech_model_folder
    from core.speech.transcript import Transcriber
    from core.status import FileNote, FolderStatus, LibraryStatus
    from core.times import clock
