"""Loading the model off the UI thread and describing it for the window.

Loading a ViT-B/32 bundle (checksums + three ONNX sessions) takes seconds; doing it on the UI
thread would freeze the window at start-up, so it runs in the thread pool and reports back by
signal.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, Signal

from core.bundle import BundleError
from core.encoders import Encoder
from core.models import resolve_model


@dataclass(frozen=True)
class ModelStatus:
    ok: bool
    title: str
    detail: str
    provider: str = ""


def load_status(
    model: str | None = None, force_cpu: bool = False
) -> tuple[ModelStatus, Encoder | None]:
    """Open the configured model; never raises, always returns something to show."""
    try:
        encoder = Encoder(resolve_model(model), force_cpu=force_cpu)
    except BundleError as exc:
        return ModelStatus(False, "No usable model", str(exc)), None
    except Exception as exc:  # ONNX Runtime errors on a damaged graph, unreadable files
        return ModelStatus(
            False, "The model could not be loaded", f"{type(exc).__name__}: {exc}"
        ), None
    m = encoder.manifest
    return (
        ModelStatus(
            True,
            m.name,
            f"{m.arch} · head {m.head} · {m.precision} · {m.embed_dim}-d · {encoder.root}",
            encoder.describe_provider(),
        ),
        encoder,
    )


class ModelLoader(QObject, QRunnable):
    """A thread-pool job that loads the model and emits ``finished(ModelStatus, encoder)``."""

    finished = Signal(object, object)

    def __init__(self, model: str | None = None, force_cpu: bool = False) -> None:
        QObject.__init__(self)
        QRunnable.__init__(self)
        self.setAutoDelete(False)
        self._model = model
        self._force_cpu = force_cpu

    def run(self) -> None:
        status, encoder = load_status(self._model, self._force_cpu)
        self.finished.emit(status, encoder)
