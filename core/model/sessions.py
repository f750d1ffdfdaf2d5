"""ONNX Runtime sessions with honest provider reporting.

We ask for CUDA first and CPU second. ONNX Runtime quietly falls back to CPU when the CUDA
provider cannot start (no driver, wrong CUDA/cuDNN), so after creating a session we read the
providers it *actually* uses and report those — in the log, the CLI and the GUI status bar.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnxruntime as ort

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
#: Environment variable that forces CPU everywhere (tests, benchmarks, users with a flaky GPU).
FORCE_CPU_ENV = "CLIPSEEK_FORCE_CPU"


@dataclass(frozen=True)
class ProviderChoice:
    """What we asked ONNX Runtime for, and why."""

    requested: tuple[str, ...]
    note: str


@cache
def cuda_driver_present() -> bool:
    """Whether an NVIDIA driver library can be loaded at all.

    Asking ONNX Runtime for CUDA on a machine without a driver prints a multi-line error and then
    falls back; probing the driver first lets us skip the request and say plainly why.
    """
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    found = ctypes.util.find_library("cuda")
    if found:
        names.append(found)
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def force_cpu_from_env() -> bool:
    return os.environ.get(FORCE_CPU_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def why_not_cuda(force_cpu: bool = False) -> str | None:
    """Why the model cannot run on CUDA here (None: it can be tried). Cheap: loads nothing of
    CUDA, so it may be asked before any session exists (the installer's choice of precision)."""
    if force_cpu or force_cpu_from_env():
        return "CPU forced by setting"
    if CUDA not in ort.get_available_providers():
        return "this ONNX Runtime build has no CUDA provider"
    if not cuda_driver_present():
        return "no NVIDIA driver found"
    return None


def choose_providers(force_cpu: bool = False) -> ProviderChoice:
    """The provider list to ask for, CUDA before CPU where CUDA can possibly work."""
    why = why_not_cuda(force_cpu)
    if why is not None:
        return ProviderChoice((CPU,), why)
    if hasattr(ort, "preload_dlls"):
        try:  # loads the CUDA/cuDNN libraries shipped by pip packages (e.g. PyTorch's) if present
            ort.preload_dlls()
        except Exception as exc:  # pragma: no cover - depends on the machine's CUDA install
            log.debug("onnxruntime.preload_dlls() failed: %s", exc)
    return ProviderChoice((CUDA, CPU), "CUDA requested")


@dataclass
class Session:
    """An inference session plus the provider it really runs on."""

    session: ort.InferenceSession
    path: Path
    choice: ProviderChoice

    @property
    def active_providers(self) -> list[str]:
        return list(self.session.get_providers())

    @property
    def provider(self) -> str:
        """The provider doing the work: the first active one."""
        return self.active_providers[0]

    @property
    def fell_back(self) -> bool:
        return CUDA in self.choice.requested and self.provider != CUDA

    def describe(self) -> str:
        """Short human text: 'CUDA', 'CPU (no NVIDIA driver found)', 'CPU (CUDA failed …)'."""
        if self.provider == CUDA:
            return "CUDA"
        if self.fell_back:
            return "CPU (CUDA failed to start; see log)"
        return f"CPU ({self.choice.note})"


def create_session(
    path: str | os.PathLike[str],
    *,
    force_cpu: bool = False,
    threads: int | None = None,
    spin: bool = True,
) -> Session:
    """Create a session for one ONNX file, logging which provider is really active.

    ``spin=False`` stops ONNX Runtime's idle threads from busy-waiting between runs. Spinning
    shaves latency off back-to-back runs (text queries) but, while indexing, it burns the CPU
    that the decoding threads need: on 2 cores the image tower with spinning made the whole
    pipeline slower than decoding and encoding one after the other (benchmarks/indexing.py).
    """
    path = Path(path)
    choice = choose_providers(force_cpu)
    options = ort.SessionOptions()
    # Errors only: on CUDA, ONNX Runtime warns at every start that it put a few shape ops on the
    # CPU ("Memcpy nodes are added"), which is expected; a fallback to the CPU we report ourselves.
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # EXTENDED, not ALL: ALL adds CPU layout transforms that buy nothing for transformers and,
    # with ONNX Runtime 1.31, crash (SIGSEGV) while loading float16 graphs on the CPU provider.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(path), sess_options=options, providers=list(choice.requested)
    )
    wrapped = Session(session=session, path=path, choice=choice)
    if wrapped.fell_back:
        log.warning(
            "%s: CUDA was requested but ONNX Runtime fell back to %s (check CUDA 12/13 and cuDNN 9"
            " libraries, or set %s=1 to silence this)",
            path.name,
            wrapped.provider,
            FORCE_CPU_ENV,
        )
    else:
        log.info("%s: running on %s", path.name, wrapped.describe())
    return wrapped
