"""What changing the settings does to the running app, decided without Qt: which engine
restarts, which library opens, what is indexed again and what to ask first. The window only
carries the decision out (``MainWindow.apply_preferences``)."""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.app_settings import Preferences
from desktop_app.engine import Snapshot
from desktop_app.formatting import duration, duration_of, plural, rate_text

_SAME = 1e-9


@dataclass(frozen=True)
class PreferenceChange:
    """The consequences of going from one set of preferences to another."""

    model_changed: bool
    force_cpu_changed: bool
    rate_changed: bool
    #: Folders to watch in the library the change opens (another model or rate has its own).
    carry_folders: tuple[str, ...]
    #: A new segment length to re-cut the open library to (no decoding), or None.
    recut_seconds: float | None

    @property
    def restart(self) -> bool:
        """The engine starts again: another model, provider or library."""
        return self.model_changed or self.force_cpu_changed or self.rate_changed

    @property
    def other_library(self) -> bool:
        """Vectors of another model or rate live in a library of their own."""
        return self.model_changed or self.rate_changed


def plan_change(old: Preferences, new: Preferences, snap: Snapshot | None) -> PreferenceChange:
    model_changed = new.model != old.model
    rate_changed = snap is not None and abs(new.sample_rate - snap.sample_rate) > _SAME
    carry: tuple[str, ...] = ()
    if (model_changed or rate_changed) and snap is not None and not snap.demo:
        carry = tuple(f.path for f in snap.folders)
    recut = None
    restart = model_changed or rate_changed or new.force_cpu != old.force_cpu
    if not restart and snap is not None and abs(new.segment_seconds - snap.segment_seconds) > _SAME:
        recut = new.segment_seconds
    return PreferenceChange(
        model_changed, new.force_cpu != old.force_cpu, rate_changed, carry, recut
    )


def reindex_question(
    snap: Snapshot | None, old: float, new: float, indexed_at_new: int
) -> str | None:
    """What changing the sampling rate from ``old`` to ``new`` costs, in words, when it costs
    anything (None: nothing is indexed yet, or that rate's library is already indexed)."""
    if snap is None or not snap.folders or snap.indexed == 0:
        return None
    if indexed_at_new >= snap.indexed:
        return None
    frames, seconds = snap.reindex_estimate(new)
    how = (
        "at the speed measured on this computer"
        if snap.speed_measured
        else "at a typical speed for this kind of computer"
    )
    return (
        f"Sampling {rate_text(new)} instead of {rate_text(old)} means indexing your"
        f" {plural(snap.indexed, 'video')} ({duration_of(snap.indexed_seconds)} of footage) again:"
        f" {frames:,} frames, {duration(seconds)} {how}.\n\n"
        f"The library at {rate_text(old)} is kept; switching back costs nothing."
        " Searching keeps working meanwhile."
    )
