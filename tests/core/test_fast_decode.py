"""The planned PyAV sampler: which frames it picks, and that each kept frame's pixels are the
frame its timestamp names — on short and long GOPs, open-GOP HEVC, MPEG-TS, AVI without an
index, variable frame rate, rotation and truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import core.ingest.fast_decode as fast_decode
from core.ingest.fast_decode import plan_stats, read_packets
from core.ingest.plan import Packet, plan, tolerance
from core.ingest.sample import SamplingError, reference_frames, sample_frames
from tests.core.test_sampling import _with_rotation
from tests.videos import index_of, write_indexed_video

FPS = 30


def _kept(path: Path, rate: float = 1.0) -> list[tuple[float, int]]:
    return [(f.t, index_of(f.rgb)) for f in sample_frames(path, rate, decoder="pyav")]


def _assert_true_to_time(kept: list[tuple[float, int]], rate: float, fps: int = FPS) -> None:
    """Every frame shows the frame its timestamp names, and lies in [grid, grid + tolerance]."""
    step = 1.0 / rate
    for t, shown in kept:
        assert shown == round(t * fps), (t, shown)
        grid = ((t + 1e-6) // step) * step
        assert -1e-6 <= t - grid <= tolerance(step) + 1e-6, (t, grid)


# ----------------------------------------------------------------------------- the plan
def _packets(times: list[float], keys: set[int], order: list[int] | None = None) -> list[Packet]:
    """Packets in decode ``order`` (indices into ``times``, default: presentation order)."""
    order = order or list(range(len(times)))
    return [Packet(n, times[i], i in keys) for n, i in enumerate(order)]


def test_a_keyframe_near_a_grid_time_is_taken_alone() -> None:
    times = [i / 30 for i in range(90)]
    p = plan(_packets(times, {0, 31, 76}), step=1.0)
    assert [round(times[i], 3) for i in p.keep] == [0.0, round(31 / 30, 3), 2.0]
    # 0 and 31 are keyframes (31 is 0.03 s after 1.0); 2.0 (76 is 0.53 s late) is decoded from
    # keyframe 31 on
    assert p.ranges == ((0, 0), (31, 60))
    assert p.decoded == 31


def test_a_keyframe_too_late_is_not_taken() -> None:
    times = [i / 30 for i in range(60)]
    p = plan(_packets(times, {0, 50}), step=1.0)  # 50/30 = 1.67 s: more than 0.5 s late
    assert [times[i] for i in p.keep] == [0.0, 1.0]
    assert p.ranges == ((0, 0), (0, 30)) or p.ranges == ((0, 30),)


def test_a_leading_picture_is_decoded_from_the_keyframe_before() -> None:
    # decode order: K0 (0.0), P (0.3), K2 (0.9), then B (0.5) shown before K2: a leading picture
    packets = [
        Packet(0, 0.0, True),
        Packet(1, 0.3, False),
        Packet(2, 0.9, True),
        Packet(3, 0.5, False),
    ]
    p = plan(packets, step=0.5)
    assert p.keep == (0, 3)  # 0.0, and 0.5 (the first frame at or after 0.5; 0.9 is too late)
    assert p.ranges == ((0, 3),)


def test_a_gap_skips_the_grid_times_it_covers() -> None:
    times = [0.0, 0.1, 2.5, 2.6, 4.0]
    p = plan(_packets(times, {0}), step=1.0)
    assert [times[i] for i in p.keep] == [0.0, 2.5, 4.0]
    assert p.grid == (0.0, 1.0, 3.0)  # 4.0 is the first frame at or after 3.0


def test_the_tolerance_is_half_a_step_at_most_half_a_second() -> None:
    assert tolerance(1.0) == 0.5 and tolerance(0.25) == 0.125 and tolerance(4.0) == 0.5


# ----------------------------------------------------------------------------- real files
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("short_gop.mp4", {"gop": 15}),
        ("gop30.mp4", {"gop": 30}),
        ("long_gop.mp4", {"gop": 250, "seconds": 10}),
        ("open_gop_hevc.mp4", {"codec": "libx265", "gop": 45, "open_gop": True}),
        ("closed_gop_hevc.mkv", {"codec": "libx265", "gop": 40, "container": "matroska"}),
        ("stream.ts", {"gop": 45, "container": "mpegts"}),
    ],
)
@pytest.mark.parametrize("rate", [1.0, 10.0])
def test_every_kept_frame_is_the_frame_its_time_names(tmp_path, name, options, rate) -> None:
    video = write_indexed_video(tmp_path / name, fps=FPS, **options)
    kept = _kept(video, rate)
    reference = [(f.t, index_of(f.rgb)) for f in reference_frames(video, rate)]
    _assert_true_to_time(kept, rate)
    _assert_true_to_time(reference, rate)
    assert len(kept) == len(reference)  # one frame per grid time, as the reference
    assert kept[0][0] == 0.0


def test_keyframes_at_the_grid_are_all_that_is_decoded(tmp_path) -> None:
    video = write_indexed_video(tmp_path / "phone.mp4", gop=30, seconds=8)
    stats = plan_stats(video, 1.0)
    assert (stats.frames, stats.kept, stats.sent) == (240, 8, 8)
    long = plan_stats(write_indexed_video(tmp_path / "long.mp4", gop=250, seconds=8), 1.0)
    assert long.sent <= long.frames and long.kept == 8


def test_variable_frame_rate_keeps_true_times(tmp_path) -> None:
    times = [0.0, 0.04, 0.3, 1.02, 1.5, 2.9, 3.0, 3.05, 6.2, 6.25]
    video = write_indexed_video(tmp_path / "vfr.mp4", times=times, gop=4)
    kept = [(round(f.t, 3), index_of(f.rgb)) for f in sample_frames(video, decoder="pyav")]
    # for grid time 1 the keyframe at 1.5 (within the 0.5 s tolerance) costs less to decode
    # than 1.02, the reference's pick; the long gap after 3.05 skips grid times 4 and 5
    assert kept == [(0.0, 0), (1.5, 4), (2.9, 5), (3.0, 6), (6.2, 8)]
    reference = [(round(f.t, 3), index_of(f.rgb)) for f in reference_frames(video)]
    assert reference == [(0.0, 0), (1.02, 3), (2.9, 5), (3.0, 6), (6.2, 8)]


def test_an_avi_without_its_index_is_read_without_seeking(tmp_path) -> None:
    video = write_indexed_video(tmp_path / "cam.avi", codec="mpeg4", gop=20, container="avi")
    data = bytearray(video.read_bytes())
    at = data.rfind(b"idx1")
    assert at > 0
    data[at : at + 4] = b"JUNK"  # the index is gone, as in a camera's interrupted recording
    video.write_bytes(bytes(data))
    _assert_true_to_time(_kept(video), 1.0)
    assert len(_kept(video)) == 6


@pytest.mark.parametrize(("degrees", "turns"), [(90, -1), (270, 1)])
def test_rotation_is_applied_as_opencv_does(tmp_path, degrees, turns) -> None:
    video = write_indexed_video(tmp_path / "flat.mp4", gop=30, seconds=2, size=(192, 96))
    rotated = _with_rotation(video, tmp_path / "portrait.mp4", degrees)
    ours = next(iter(sample_frames(rotated, decoder="pyav"))).rgb
    theirs = next(iter(reference_frames(rotated))).rgb
    assert ours.shape == theirs.shape == (192, 96, 3)
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() < 3
    assert index_of(np.rot90(ours, -turns)) == 0


def test_a_truncated_file_yields_what_decodes_or_says_why(tmp_path) -> None:
    video = write_indexed_video(tmp_path / "whole.ts", gop=30, seconds=6, container="mpegts")
    cut = tmp_path / "cut.ts"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    kept = [(f.t, index_of(f.rgb)) for f in sample_frames(cut)]
    assert 2 <= len(kept) <= 4
    _assert_true_to_time(kept, 1.0)
    with pytest.raises(SamplingError):
        list(sample_frames(tmp_path / "empty.mp4"))


def test_a_failure_part_way_goes_on_with_opencv_from_the_last_frame(tmp_path, monkeypatch) -> None:
    video = write_indexed_video(tmp_path / "v.mp4", gop=30, seconds=6)
    real = fast_decode.fast_frames

    def breaks_after_two(path, rate):
        for n, kept in enumerate(real(path, rate)):
            if n == 2:
                raise fast_decode.Unsupported("the decoder gave up")
            yield kept

    monkeypatch.setattr(fast_decode, "fast_frames", breaks_after_two)
    kept = [(round(f.t, 3), index_of(f.rgb)) for f in sample_frames(video)]
    assert kept == [(float(s), s * FPS) for s in range(6)]  # nothing lost, nothing twice
    with pytest.raises(SamplingError, match="gave up"):
        list(sample_frames(video, decoder="pyav"))


def test_packets_are_read_with_times_from_the_stream_start(tmp_path) -> None:
    packets, start = read_packets(write_indexed_video(tmp_path / "s.ts", container="mpegts"))
    assert start > 0  # MPEG-TS streams do not start at 0 ...
    assert min(p.t for p in packets) == 0.0  # ... the index's times do
    assert [p.index for p in packets] == list(range(len(packets)))


def test_a_mistyped_decoder_setting_is_said_and_ignored(tmp_path, monkeypatch, caplog) -> None:
    video = write_indexed_video(tmp_path / "v.mp4", gop=30, seconds=3)
    monkeypatch.setenv("CLIPSEEK_DECODER", "ffmpeg-please")
    kept = [(f.t, index_of(f.rgb)) for f in sample_frames(video)]
    assert kept == [(0.0, 0), (1.0, 30), (2.0, 60)]
    assert "CLIPSEEK_DECODER='ffmpeg-please' is not one of" in caplog.text
