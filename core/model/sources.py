"""What can be installed and how an install reports itself: the sources on the hub (the default
is pinned to one commit and one SHA-256), the stages and progress, and the errors — shared by
the HTTP client (``hub``), the converter runner (``converter``) and ``install``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

STAGES = ("connecting", "downloading", "verifying", "converting", "done")


def precision_for_this_machine() -> str:
    """int8 where the image tower will run on the CPU (1.7x faster there, cosine 0.9997 to
    fp32), fp32 where an NVIDIA GPU can run it."""
    from core.model.sessions import why_not_cuda

    return "int8" if why_not_cuda() is not None else "fp32"


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
    #: "fp32", or "int8": the image tower quantized for CPUs (``clipseek-export convert --int8``)
    #: (for a text tower: the text tower itself)
    precision: str = "fp32"
    #: Small files of the same revision the model also needs (a tokenizer, its config), each
    #: checked against the hub's listing.
    companions: tuple[str, ...] = ()

    def with_precision(self, precision: str) -> ModelSource:
        """The same weights made into a bundle of another precision, in a folder of its own
        (the two index into different libraries, so both can stay installed)."""
        if precision not in ("fp32", "int8"):
            raise InstallError(f"a model can be installed as fp32 or int8, not {precision!r}")
        if precision == self.precision:
            return self
        base = dataclasses.replace(
            self,
            precision="fp32",
            folder=self.folder.removesuffix("-int8"),
            name=self.name.removesuffix(" (int8)"),
        )
        if precision == "fp32":
            return base
        return dataclasses.replace(
            base, precision="int8", folder=f"{base.folder}-int8", name=f"{base.name} (int8)"
        )

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


#: M-CLIP's multilingual text tower for OpenAI CLIP ViT-B/32's space: XLM-RoBERTa Large, the
#: masked mean and a Linear to 512 (``export.multilingual``), with its own ``tokenizer.json``.
#: Pinned to the commit "Add yaml and adjust table" (2 June 2022) and the LFS SHA-256 of its
#: 2.24 GB ``pytorch_model.bin`` (its exact size comes from the listing). ``arch`` names the
#: template it fills (``resources/templates/mclip-xlmr-full``). M-CLIP's code is MIT-licensed
#: (FreddeFrallan/Multilingual-CLIP); the hub's model card names no licence.
MULTILINGUAL_SOURCE = ModelSource(
    repo="M-CLIP/XLM-Roberta-Large-Vit-B-32",
    filename="pytorch_model.bin",
    arch="full",
    name="M-CLIP XLM-R Large (multilingual, ViT-B/32)",
    folder="mclip-xlmr-large-vit-b32",
    head="",
    revision="358a8bbb24369324bacf4d7c970c51ca928aad70",
    sha256="c33a6bec12ba8251492f1e4068c39507c1512692a2e0e7f37cdcf8cdaf7aa2f8",
    companions=("tokenizer.json", "config.json"),
)
#: What the multilingual install downloads, for people (the listing gives the exact size).
MULTILINGUAL_DOWNLOAD_BYTES = 2_240_000_000


@dataclass(frozen=True)
class InstallProgress:
    stage: str  # one of STAGES
    bytes_done: int = 0
    bytes_total: int = 0
    bytes_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


Report = Callable[[InstallProgress], None]
