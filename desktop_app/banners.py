"""The two banners above the search row: the demo library, and the demo model meeting real
footage (it cannot find anything there, so the banner offers the real model)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from core import DEFAULT_SOURCE


class _Banner(QFrame):
    """A full-width strip: words on the left, one verb button on the right; hidden at first."""

    def __init__(self, name: str, style: str, text: str, verb: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(style)
        self.label = QLabel(text, self)
        self.label.setWordWrap(True)
        self.button = QPushButton(verb, self)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.button)
        self.hide()


class DemoBanner(_Banner):
    """Says the window shows the demo library, with a sentence to try, and the way back."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(
            "demoBanner",
            "#demoBanner { background: palette(alternate-base);"
            " border-bottom: 1px solid palette(mid); }",
            "",
            "Back to my library",
            parent,
        )

    def show_demo(self, example: str = "") -> None:
        """``example``: a caption whose own video its search shows first (the engine's
        choice, made once the demo is indexed; none until then)."""
        example = f" Try “{example}”." if example else ""
        self.label.setText(
            "Demo library: synthetic videos of coloured shapes, indexed with the built-in"
            f" demo model.{example}"
        )
        self.show()


class ModelBanner(_Banner):
    """The demo model with the user's own footage: say it cannot work, offer the real one."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(
            "modelBanner",
            "#modelBanner { background: #fdf2e9; border-bottom: 1px solid #e59866; }"
            " #modelBanner QLabel { color: #1c1c1c; }",
            "<b>The built-in demo model only knows the coloured shapes of the demo videos.</b>"
            " It cannot find moments in your own footage. Install OpenAI CLIP ViT-B/32 (a"
            f" {(DEFAULT_SOURCE.size or 0) / 1e6:,.0f} MB download, once; everything then runs"
            " on this computer) to search your videos.",
            "Install the real model…",
            parent,
        )
        self.button.setObjectName("installRealModel")
