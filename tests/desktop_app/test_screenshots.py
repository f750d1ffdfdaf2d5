"""The screenshot script renders every main state at both window sizes, as real pictures."""

from __future__ import annotations

from PySide6.QtGui import QImage

from desktop_app.screenshots import SIZES, render


def test_screenshots_of_every_state(qapp, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLIPSEEK_FORCE_CPU", "1")  # render() sets these; restored afterwards
    monkeypatch.setenv("CLIPSEEK_HOME", str(tmp_path / "home"))
    written = render(tmp_path / "shots", videos=12)
    names = sorted(p.name for p in written)
    states = [
        "browse", "dated-search", "indexing", "problems", "results", "settings", "welcome",
    ]  # fmt: skip
    assert names == sorted(f"{s}-{w}x{h}.png" for s in states for w, h in SIZES)
    for path in written:
        image = QImage(str(path))
        assert (image.width(), image.height()) in SIZES
        # a real picture, not a blank window: many distinct colours
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 37)
            for y in range(0, image.height(), 23)
        }
        assert len(colours) > 20, path.name
