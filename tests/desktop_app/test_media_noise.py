"""FFmpeg's complaints about a damaged stream stay out of the terminal and go to the log (issue
23): Qt Multimedia's copy (the preview) and OpenCV's (thumbnails, indexing) both print them at
the error level, once per decoder thread, on every preview of such a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def write_damaged_h264(path: Path, frames: int = 24, size: int = 64) -> Path:
    """An H.264 MP4 whose inter slices are marked IDR (NAL type 1 -> 5), the damage behind
    FFmpeg's "Invalid inter IDR frame" / "A non-intra slice in an IDR NAL unit"."""
    import av

    out = av.open(str(path), "w")
    stream = out.add_stream("libx264", rate=8)
    stream.width = stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"g": "8", "bf": "0", "x264-params": "scenecut=0"}

    def damaged(packet):
        data = bytearray(bytes(packet))
        if not packet.is_keyframe:
            i = data.find(b"\x00\x00\x01")
            while i >= 0:
                if data[i + 3] & 0x1F == 1:  # a non-IDR slice...
                    data[i + 3] = (data[i + 3] & 0xE0) | 5  # ...said to be IDR
                i = data.find(b"\x00\x00\x01", i + 3)
        copy = av.Packet(bytes(data))
        copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
        copy.stream = stream
        return copy

    for i in range(frames):
        image = np.zeros((size, size, 3), np.uint8)
        image[:, (2 * i) % size : (2 * i) % size + 8] = 200  # a bar moving right: P slices
        for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
            out.mux(damaged(packet))
    for packet in stream.encode(None):
        out.mux(damaged(packet))
    out.close()
    return path


PREVIEW_DAMAGED = r"""
import logging, os, sys, time
from desktop_app.media_noise import route_qt_messages, route_stderr
route = sys.argv[2] == "route"
if route:
    route_stderr()
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="LOG %(name)s: %(message)s")
route_qt_messages()
from PySide6.QtWidgets import QApplication
from core.ingest.sample import sample_frames
from desktop_app.player import PreviewPlayer
app = QApplication([])
frames = list(sample_frames(sys.argv[1], 4.0))  # OpenCV's FFmpeg: indexing, thumbnails
player = PreviewPlayer()
player.show()
player.preview(sys.argv[1], 0.0, 2.0)  # Qt's FFmpeg: the preview
end = time.monotonic() + 2.0
while time.monotonic() < end:
    app.processEvents()
    time.sleep(0.01)
player.clear()
print("Python's stderr still reaches the terminal", file=sys.stderr)
os.write(2, b"so does a C library's own line\n")
"""


def _run(video: Path, mode: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", PREVIEW_DAMAGED, str(video), mode],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_ffmpeg_complaints_about_a_damaged_stream_go_to_the_log(tmp_path) -> None:
    video = write_damaged_h264(tmp_path / "damaged.mp4")
    complaint = ("Invalid inter IDR frame", "non-intra slice in an IDR NAL unit")

    done = _run(video, "route")
    assert not any(c in done.stderr for c in complaint), done.stderr
    assert "[h264 @" not in done.stderr, done.stderr
    assert "Python's stderr still reaches the terminal" in done.stderr
    assert "so does a C library's own line" in done.stderr
    logged = [line for line in done.stdout.splitlines() if line.startswith("LOG ffmpeg: [h264 @")]
    assert any(c in line for line in logged for c in complaint), done.stdout[-3000:]
