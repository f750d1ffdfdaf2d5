"""What the window is called: a library as a person knows it, by its folders."""

from __future__ import annotations

from pathlib import Path

from desktop_app.engine import Snapshot
from desktop_app.formatting import rate_text


def library_name(snap: Snapshot) -> str:
    """A library as a person knows it: by its folders ("Videos", "Videos and Phone",
    "Videos, Phone and 2 more"), not by the model's folder name."""
    if snap.demo:
        return "Demo library"
    paths = [Path(f.path) for f in snap.folders]
    names = [p.name or str(p) for p in paths]
    if len(set(names)) < len(names):  # two "videos" folders: say whose
        names = [
            f"{p.parent.name}/{p.name}" if names.count(n) > 1 else n
            for p, n in zip(paths, names, strict=True)
        ]
    if not names:
        return ""
    if len(names) == 1:
        text = names[0]
    elif len(names) == 2:
        text = f"{names[0]} and {names[1]}"
    else:
        text = f"{names[0]}, {names[1]} and {len(names) - 2} more"
    if abs(snap.sample_rate - 1.0) > 1e-9:
        text += f" ({rate_text(snap.sample_rate)})"
    return text


def window_title(snap: Snapshot) -> str:
    """The library's name; the desktop adds the app's ("Videos — ClipSeek") from
    ``QGuiApplication.applicationDisplayName``."""
    return library_name(snap)
