"""Running the conversion: ``python -m export.cli convert`` in a subprocess, so that PyTorch
never enters the app's process; checked for first (the ``export`` extra), cancellable, its
failure said in one line from the subprocess's output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.model.sources import InstallCancelled, InstallError, InstallProgress, ModelSource, Report

#: Python modules the conversion subprocess needs (the ``export`` extra plus our package).
CONVERTER_MODULES = ("torch", "open_clip", "onnx", "export")
EXPORT_EXTRA_HINT = "converting the weights needs the export extra: pip install 'clipseek[export]'"


def _subprocess_env() -> dict[str, str]:
    """The environment for the converter: our package importable wherever it is installed."""
    root = Path(__file__).resolve().parents[2]  # the folder holding the core package
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root), path) if p)}


def check_converter(python: str = sys.executable, *, safetensors: bool = True) -> None:
    """Raise :class:`InstallError` unless ``python`` can run the conversion (the export extra).

    Uses ``importlib.util.find_spec`` in that interpreter: nothing is imported, it takes
    milliseconds, so it runs before anything is downloaded.
    """
    modules = CONVERTER_MODULES + (("safetensors",) if safetensors else ())
    code = (
        "import importlib.util as u, sys\n"
        f"missing = [m for m in {modules!r} if u.find_spec(m) is None]\n"
        "print(' '.join(missing)); sys.exit(1 if missing else 0)\n"
    )
    try:
        check = subprocess.run(
            [python, "-c", code],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=_subprocess_env(),
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"cannot run Python ({python}) to convert the weights: {exc}") from None
    if check.returncode != 0:
        missing = check.stdout.decode("utf-8", "replace").strip()
        raise InstallError(EXPORT_EXTRA_HINT + (f" (missing: {missing})" if missing else ""))


def _last_line(text: str) -> str:
    """The last line worth showing from a subprocess's output (skips tracebacks' noise)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if not line.startswith(("File ", "^", "~", "Traceback", "warnings.warn")):
            return line
    return lines[-1] if lines else ""


def convert(
    source: ModelSource,
    weights: Path,
    out: Path,
    python: str,
    cancel: threading.Event | None,
    report: Report | None = None,
) -> None:
    """Run ``export.cli convert`` in another process: torch never enters the app."""
    command = [
        python, "-m", "export.cli", "convert", "--checkpoint", str(weights),
        "--arch", source.arch, "--head", source.head, "--name", source.name, "--out", str(out),
    ]  # fmt: skip
    if source.precision == "int8":
        command.append("--int8")
    log_path = out.with_name(out.name + ".log")  # a file, not a pipe: a pipe can fill and block
    started = time.monotonic()
    with log_path.open("w+b") as log:
        try:
            proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_subprocess_env(),
            )  # fmt: skip
        except OSError as exc:
            raise InstallError(f"cannot run Python ({python}) to convert: {exc}") from None
        try:
            while proc.poll() is None:
                if cancel is not None and cancel.is_set():
                    raise InstallCancelled("cancelled")
                if report is not None:
                    elapsed = round(time.monotonic() - started)
                    report(
                        InstallProgress(
                            "converting",
                            message=f"Converting to ONNX and checking it against PyTorch"
                            f" ({elapsed} s)…",
                        )
                    )
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        detail = _last_line(output) or f"exit status {proc.returncode}"
        if "No module named" in detail:
            raise InstallError(f"{EXPORT_EXTRA_HINT} ({detail})")
        raise InstallError(f"converting the weights failed: {detail}")
