"""A video's transcript: timed lines of what was said, from subtitles or a speech model.

The one shape every source hands over and every consumer reads: the subtitle reader
(embedded tracks and sidecar files), the Whisper transcriber (CTranslate2), the store (SQLite +
FTS5) and the search that matches and shows spoken lines. Times are seconds from the start of the
video; a line may carry word times (Whisper's word timestamps) so that a preview can start at the
first matched word.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

#: Where a transcript came from.
SUBTITLE, MODEL = "subtitle", "model"


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Line:
    """One spoken line (a subtitle cue, or one Whisper segment)."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "words": [[round(w.start, 3), round(w.end, 3), w.text] for w in self.words],
        }


@dataclass(frozen=True)
class Transcript:
    """Everything said in one video, in time order."""

    #: ISO 639-1 code ("ko", "en", …), "" when unknown (a subtitle file that does not say).
    language: str
    #: SUBTITLE or MODEL.
    source: str
    #: What the lines depend on: a subtitle's file or track ("sidecar:clip.srt",
    #: "track:2:mov_text"), or a speech model's identity (its name and weights' checksum), so
    #: that changing the speech model re-transcribes and nothing else does.
    origin: str
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


class TranscribeCancelled(Exception):
    """The user paused or cancelled; nothing of this video was stored."""


class Transcriber(Protocol):
    """Turns a video's audio track into a transcript (the Whisper runtime, or a stand-in in
    tests that returns known sentences)."""

    #: The model's identity (name + weights checksum); stored with each transcript.
    identity: str

    def transcribe(
        self,
        path: Path,
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[float, float], None] | None = None,
    ) -> Transcript:
        """``progress(seconds_done, seconds_total)`` of audio. A video without an audio track
        gives a transcript with no lines; an unreadable one raises ``OSError`` or
        ``ValueError`` with a one-line message."""
        ...
