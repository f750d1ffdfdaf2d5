"""Which speech model transcribes a library's videos, and opening it.

Order: an explicit folder (``--speech-model DIR``; ``none`` turns speech off), then
``$CLIPSEEK_SPEECH_MODEL``, then the largest model installed under the models folder (a user who
installed *small* after *tiny* wants *small*). None of these: no speech pass (subtitles are still
read while indexing: they need no model). The transcript's origin is the model's identity, so
switching models re-transcribes (without decoding a video frame) and nothing else does.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.model.registry import models_dir
from core.speech.install import installed_speech_models, load_speech_model
from core.speech.whisper import WhisperTranscriber

SPEECH_MODEL_ENV = "CLIPSEEK_SPEECH_MODEL"
#: What ``--speech-model`` takes to mean "no speech pass".
NONE = "none"


def speech_model_folder(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The speech model to use, or None (speech off, or none installed)."""
    chosen = str(explicit) if explicit else os.environ.get(SPEECH_MODEL_ENV, "")
    if chosen.strip().lower() == NONE:
        return None
    if chosen.strip():
        return Path(chosen).expanduser()
    found = installed_speech_models(models_dir())
    return found[-1] if found else None


def open_transcriber(folder: Path, *, force_cpu: bool = False) -> WhisperTranscriber:
    """The transcriber of an installed model, checked first (manifest, sizes and checksums:
    one-line ``SpeechModelError``); a folder that is not one says so in one line."""
    load_speech_model(folder)
    return WhisperTranscriber(folder, device="cpu" if force_cpu else "auto")
