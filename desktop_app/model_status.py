"""Loading the model and describing it for the window, without ever raising.

Loading a ViT-B/32 bundle (checksums + three ONNX sessions) takes seconds, so the engine calls
this on its library thread, never on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import BundleError, Encoder, resolve_model


@dataclass(frozen=True)
class ModelStatus:
    ok: bool
    title: str
    detail: str
    provider: str = ""  # what ONNX Runtime reports, for tooltips and About: 'CPU (…)', 'CUDA'
    path: str = ""  # the bundle folder
    device: str = ""  # for people: 'Running on the CPU', 'Running on the NVIDIA GPU'
    device_detail: str = ""  # why, in a sentence


def device_words(provider: str) -> tuple[str, str]:
    """The status bar's words for where the model runs, from ``describe_provider()``'s text.

    A GPU that failed to start is said plainly: ONNX Runtime falls back to the CPU silently.
    """
    if provider == "CUDA":
        return "Running on the NVIDIA GPU", "The model runs on the NVIDIA GPU (CUDA)."
    if "CUDA failed" in provider:
        return (
            "Running on the CPU: the GPU failed to start",
            "The NVIDIA GPU could not be started, so the slower CPU is used; the log says why.",
        )
    if "forced" in provider:
        return "Running on the CPU", "Settings ask to always use the CPU."
    return "Running on the CPU", "No NVIDIA GPU was found, so the model runs on the CPU."


def runs_on(status: ModelStatus) -> str:
    """Where the model runs, said once: "Running on the CPU: no NVIDIA driver found", from the
    status bar's words and ONNX Runtime's reason (About used to say "Running on the CPU (CPU
    (no NVIDIA driver found))")."""
    provider = status.provider
    if provider == "CUDA":
        return "Running on the NVIDIA GPU (CUDA)"
    if provider.startswith("CPU (") and provider.endswith(")"):
        return f"Running on the CPU: {provider[5:-1]}"
    if not provider or provider in status.device:
        return status.device
    return f"{status.device} ({provider})"


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
    provider = encoder.describe_provider()
    device, why = device_words(provider)
    return (
        ModelStatus(
            True,
            m.name,
            f"{m.arch} · head {m.head} · {m.precision} · {m.embed_dim}-d · {encoder.root}",
            provider,
            str(encoder.root),
            device,
            f"{why} (ONNX Runtime: {', '.join(encoder.active_providers['image'])})",
        ),
        encoder,
    )
