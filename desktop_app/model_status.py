"""Loading the model and describing it for the window, without ever raising.

Loading a ViT-B/32 bundle (checksums + three ONNX sessions) takes seconds, so the engine calls
this on its library thread, never on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.bundle import BundleError
from core.encoders import Encoder
from core.models import resolve_model


@dataclass(frozen=True)
class ModelStatus:
    ok: bool
    title: str
    detail: str
    provider: str = ""
    path: str = ""  # the bundle folder


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
            str(encoder.root),
        ),
        encoder,
    )
