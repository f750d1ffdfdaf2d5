"""What can be installed and how an install reports itself: the sources on the hub (the default
is pinned to one commit and one SHA-256), the stages and progress, and the errors — shared by
the HTTP client (``hub``), the converter runner (``converter``) and ``install``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

STAGES = ("connecting", "downloading", "verifying", "converting", "done")


class InstallError(RuntimeError):
    """The model could not be installed; the message says why in one line."""


class InstallCancelled(InstallError):
    """The user cancelled; a partial download is kept and resumed next time."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights live on the hub and how to make a bundle of them."""

    repo: str
    filename: str
    arch: str
    name: str
    folder: str
    head: str = "meanP"
    revision: str = "main"
    #: The file's SHA-256 and size as this ClipSeek version knows them (None: trust the listing).
    sha256: str | None = None
    size: int | None = None

    @property
    def label(self) -> str:
        return f"{self.repo}@{self.revision[:12]}/{self.filename}"


#: OpenAI's CLIP ViT-B/32 as open_clip publishes it on the hub (pickle-free safetensors): the
#: file open_clip itself loads for ``create_model('ViT-B-32', pretrained='openai')``. Pinned to
#: one commit, so what users install never changes under them.
DEFAULT_SOURCE = ModelSource(
    repo="timm/vit_base_patch32_clip_224.openai",
    filename="open_clip_model.safetensors",
    arch="ViT-B-32",
    name="OpenAI CLIP ViT-B/32",
    folder="clip-vit-b32",
    revision="a6f597a30f7b82c51704746581f9a4e41421e878",
    sha256="e6d1bd7789aa45192b3bf90570a789b478bae1b74ebcce7eddd908e83a2b7c31",
    size=605_143_284,
)


@dataclass(frozen=True)
class InstallProgress:
    stage: str  # one of STAGES
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


Report = Callable[[InstallProgress], None]
