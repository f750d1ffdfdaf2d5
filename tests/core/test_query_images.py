"""Reading a picture given as a query (core.query.images): the cases where cv2.imread failed us.

Each regression here was seen with the old ``cv2.imread(str(path))``: a non-UTF-8 name killed the
process (SIGSEGV), a 1.2 MB PNG claiming 20000×20000 pixels took gigabytes and seconds, cut-short
files printed ``libpng error`` / ``Premature end of JPEG file`` on fd 2 (or came back half grey),
and colours came back in BGR order.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.model.encoder import QueryError
from core.query.images import MAX_QUERY_PIXELS, image_size, read_query_image

REPO_ROOT = Path(__file__).resolve().parents[2]

# Three vertical bands, in RGB: red, green, blue (pure, so that even GIF's palette keeps them).
# Odd sizes catch width/height mix-ups.
WIDTH, HEIGHT = 53, 37
BANDS = ((10, (255, 0, 0)), (30, (0, 255, 0)), (48, (0, 0, 255)))


def bands_rgb(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width * 20 // 53] = BANDS[0][1]
    rgb[:, width * 20 // 53 : width * 40 // 53] = BANDS[1][1]
    rgb[:, width * 40 // 53 :] = BANDS[2][1]
    return rgb


def encode(ext: str, bgr: np.ndarray, params: list[int] | None = None) -> bytes:
    try:
        ok, buf = cv2.imencode(ext, bgr, params or [])
    except cv2.error:
        ok = False
    if not ok:
        pytest.skip(f"this OpenCV cannot write {ext}")
    return buf.tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def black_png(width: int, height: int) -> bytes:
    """A real, decodable black RGB PNG of any size in about width*height/1000 bytes (one
    flushed deflate block of zero rows, repeated) — made without ever holding its pixels."""
    row = 1 + 3 * width
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = block.compress(bytes(row * 64)) + block.flush(zlib.Z_FULL_FLUSH)
    last = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = last.compress(bytes(row * (height % 64))) + last.flush(zlib.Z_FINISH)
    adler = ((row * height % 65521) << 16) | 1  # Adler-32 of that many zero bytes
    idat = b"\x78\xda" + repeated * (height // 64) + tail + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter: what C libraries write to fd 2 is caught there only."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )


# ------------------------------------------------------------------------------ good pictures
FORMATS = [
    (".png", None, 0),
    (".jpg", None, 12),
    (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1], 12),
    (".bmp", None, 0),
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101], 0),  # lossless: VP8L
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 90], 12),  # lossy: VP8
    (".tiff", None, 0),
    (".gif", None, 4),  # its fixed palette has 252, not 255
    (".ppm", None, 0),
]


@pytest.mark.parametrize(("ext", "params", "tolerance"), FORMATS)
def test_pictures_come_back_in_rgb_order_at_their_size(
    tmp_path: Path, ext: str, params: list[int] | None, tolerance: int
) -> None:
    data = encode(ext, cv2.cvtColor(bands_rgb(), cv2.COLOR_RGB2BGR), params)
    rgb = read_query_image(write(tmp_path / f"bands{ext}", data))
    assert rgb.shape == (HEIGHT, WIDTH, 3)
    assert rgb.dtype == np.uint8
    for x, colour in BANDS:
        assert np.abs(rgb[HEIGHT // 2, x].astype(int) - colour).max() <= tolerance, (x, rgb[18, x])
    assert image_size(data[:4096])[1:] == (WIDTH, HEIGHT)


def test_image_size_names_the_format_from_the_header_alone() -> None:
    bgr = cv2.cvtColor(bands_rgb(), cv2.COLOR_RGB2BGR)
    for ext, name in ((".png", "PNG"), (".jpg", "JPEG"), (".bmp", "BMP"), (".webp", "WebP")):
        assert image_size(encode(ext, bgr)[: 64 if ext != ".jpg" else 1024]) == (name, 53, 37)
    assert image_size(b"hello, I am a text file\n") is None
    assert image_size(encode(".jpg", bgr)[:20]) is None  # stops before the frame header


def test_grayscale_png_becomes_three_equal_channels(tmp_path: Path) -> None:
    gray = np.full((21, 34), 77, np.uint8)
    gray[:, 17:] = 200
    rgb = read_query_image(write(tmp_path / "gray.png", encode(".png", gray)))
    assert rgb.shape == (21, 34, 3)
    assert (rgb[:, :17] == 77).all() and (rgb[:, 17:] == 200).all()


def test_alpha_is_dropped_as_open_clip_does(tmp_path: Path) -> None:
    """Transparent pixels keep their own colour (PIL's convert("RGB")), not a background's."""
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[..., :3] = (30, 20, 10)  # RGB (10, 20, 30)
    bgra[:, 15:, 3] = 255
    rgb = read_query_image(write(tmp_path / "alpha.png", encode(".png", bgra)))
    assert rgb.shape == (20, 30, 3)
    assert (rgb == (10, 20, 30)).all()


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    bgr = np.zeros((100, 160, 3), np.uint8)
    bgr[:50] = (0, 0, 255)  # top half red
    jpeg = encode(".jpg", bgr)
    tiff = b"II*\x00" + struct.pack("<IHHHII", 8, 1, 0x0112, 3, 1, 6) + b"\x00" * 4  # rotate 90°
    exif = b"Exif\x00\x00" + tiff
    rotated = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:]
    rgb = read_query_image(write(tmp_path / "portrait.jpg", rotated))
    assert rgb.shape == (160, 100, 3)
    assert rgb[80, -1, 0] > 200 and rgb[80, 0, 0] < 50  # the top went to the right


def test_bytes_after_the_jpeg_end_are_allowed(tmp_path: Path) -> None:
    """Zero padding, camera trailers, the MP4 of an Android motion photo."""
    jpeg = encode(".jpg", cv2.cvtColor(bands_rgb(), cv2.COLOR_RGB2BGR))
    motion = jpeg + b"\x00" * 100 + b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000)
    assert read_query_image(write(tmp_path / "motion.jpg", motion)).shape == (HEIGHT, WIDTH, 3)


# ------------------------------------------------------------------------------- big pictures
def test_large_jpeg_is_decoded_reduced_but_not_below_the_floor(tmp_path: Path) -> None:
    bgr = cv2.resize(np.random.default_rng(0).integers(0, 255, (8, 12, 3), np.uint8), (6000, 4000))
    path = write(tmp_path / "camera.jpg", encode(".jpg", bgr))
    rgb = read_query_image(path)
    assert rgb.shape == (500, 750, 3)  # 1/8 in the DCT: 4000/8 = 500 ≥ 448
    assert read_query_image(path, min_short_side=1000).shape == (1000, 1500, 3)
    assert read_query_image(path, min_short_side=4000).shape == (4000, 6000, 3)


def test_large_png_is_reduced_too(tmp_path: Path) -> None:
    """PNG cannot decode reduced: 1/2 (an exact 2×2 mean), then INTER_AREA the rest."""
    bgr = cv2.resize(np.random.default_rng(1).integers(0, 255, (8, 12, 3), np.uint8), (3601, 1793))
    rgb = read_query_image(write(tmp_path / "scan.png", encode(".png", bgr)))
    assert rgb.shape == (448, 900, 3)  # 1/4 of 1793 is 448.25: just at the floor, never below
    expected = cv2.resize(bgr, (900, 448), interpolation=cv2.INTER_AREA)[..., ::-1]
    assert np.abs(rgb.astype(int) - expected).mean() < 2


def test_huge_png_is_refused_from_its_header_quickly_and_cheaply(tmp_path: Path) -> None:
    """The 1.2 MB file of issue 14: cv2.imread took 2.3 GB and 7 s to decode it."""
    path = write(tmp_path / "huge.png", black_png(20000, 20000))
    assert path.stat().st_size < 2_000_000
    assert image_size(path.read_bytes()[:64]) == ("PNG", 20000, 20000)
    started = time.perf_counter()
    with pytest.raises(QueryError) as refused:
        read_query_image(path)
    assert time.perf_counter() - started < 1.0
    message = str(refused.value)
    assert "huge.png" in message and "20000×20000" in message and "\n" not in message
    assert f"{MAX_QUERY_PIXELS / 1e6:.0f} megapixels" in message
    if not Path("/proc/self/status").exists():
        return
    probe = run_python(
        """
        import sys
        from core.query.images import read_query_image
        from core.model.encoder import QueryError
        def peak():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
        before = peak()
        try:
            read_query_image(sys.argv[1])
        except QueryError:
            pass
        print(peak() - before)
        """,
        str(path),
    )
    assert probe.returncode == 0, probe.stderr
    assert int(probe.stdout.split()[-1]) < 50  # MB above the interpreter's own peak


def test_a_jpeg_header_claiming_too_many_pixels_is_refused(tmp_path: Path) -> None:
    jpeg = bytearray(encode(".jpg", np.zeros((16, 16, 3), np.uint8)))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)  # height, width
    with pytest.raises(QueryError, match="30000×30000 pixels"):
        read_query_image(write(tmp_path / "claims.jpg", bytes(jpeg)))


# ---------------------------------------------------------------------------- damaged files
_MARK = "--- imports done ---"
_TRUNCATE_ALL = f"""
    import os, sys
    from pathlib import Path
    from core.query.images import read_query_image
    from core.model.encoder import QueryError
    os.write(2, b"{_MARK}\\n")  # what importing onnxruntime may say is not ours to judge
    for path in sorted(Path(sys.argv[1]).iterdir()):
        try:
            read_query_image(path)
            print(path.name, "READ")
        except QueryError as error:
            print(error)
"""


def test_cut_short_files_get_one_line_and_print_nothing_on_fd2(tmp_path: Path) -> None:
    """libpng writes "libpng error: …" to fd 2 itself, so only a child process can see it."""
    bgr = cv2.resize(np.random.default_rng(2).integers(0, 255, (6, 6, 3), np.uint8), (211, 157))
    cut = tmp_path / "cut"
    cut.mkdir()
    for ext in (".png", ".jpg", ".bmp", ".webp", ".tiff", ".gif", ".ppm"):
        try:
            data = cv2.imencode(ext, bgr)[1].tobytes()
        except cv2.error:
            continue  # an OpenCV without this writer
        for fraction in (0.5, 0.9):
            write(cut / f"{ext[1:]}-{fraction}{ext}", data[: int(len(data) * fraction)])
        write(cut / f"{ext[1:]}-last-byte{ext}", data[:-1])
    result = run_python(_TRUNCATE_ALL, str(cut))
    assert result.returncode == 0, result.stderr
    assert result.stderr.split(_MARK + "\n", 1)[1] == ""
    lines = result.stdout.splitlines()
    assert len(lines) == len(list(cut.iterdir())) and "READ" not in result.stdout
    assert all("the picture is damaged or cut short" in line for line in lines), lines
    png = next(line for line in lines if line.startswith(str(cut / "png-0.5")))
    assert png.endswith("(PNG ends before its last chunk)")
    jpeg = next(line for line in lines if line.startswith(str(cut / "jpg-0.5")))
    assert jpeg.endswith("(JPEG ends before its end-of-image marker)")


def test_a_png_that_fails_its_checksum_is_damaged(tmp_path: Path) -> None:
    data = bytearray(encode(".png", cv2.cvtColor(bands_rgb(), cv2.COLOR_RGB2BGR)))
    data[data.index(b"IDAT") + 20] ^= 0x40
    with pytest.raises(QueryError, match=r"damaged .*\(PNG chunk IDAT fails its checksum\)"):
        read_query_image(write(tmp_path / "flipped.png", bytes(data)))


# ---------------------------------------------------------------------------------- names
def test_a_name_that_is_not_utf8_is_read_by_bytes_or_surrogate_str(tmp_path: Path) -> None:
    """cv2.imread('…/bad\\udcff.png') dies with SIGSEGV; the bytes never reach OpenCV now."""
    raw = os.fsencode(str(tmp_path)) + b"/bad\xff.png"
    try:
        with open(raw, "wb") as file:
            file.write(encode(".png", cv2.cvtColor(bands_rgb(), cv2.COLOR_RGB2BGR)))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    for path in (raw, os.fsdecode(raw)):
        rgb = read_query_image(path)
        assert rgb.shape == (HEIGHT, WIDTH, 3) and tuple(rgb[5, 5]) == BANDS[0][1]
    os.truncate(raw, 100)
    with pytest.raises(QueryError) as damaged:
        read_query_image(os.fsdecode(raw))
    message = str(damaged.value)
    assert "bad\ufffd.png" in message
    message.encode("utf-8")  # printable anywhere: no lone surrogates left


# ------------------------------------------------------------------------------ not pictures
def test_things_that_are_not_pictures_are_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "folder.png").mkdir()
    write(tmp_path / "empty.png", b"")
    write(tmp_path / "notes.png", b"shopping: milk, eggs\n" * 10)
    cases = {
        "folder.png": "is a folder, not a picture",
        "empty.png": "the file is empty",
        "notes.png": "not a picture ClipSeek can read",
        "missing.png": "no such image file",
    }
    for name, expected in cases.items():
        with pytest.raises(QueryError) as refused:
            read_query_image(tmp_path / name)
        message = str(refused.value)
        assert expected in message and name in message and "\n" not in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(QueryError, match="not a regular file"):
        read_query_image(tmp_path / "pipe.png")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_a_file_we_may_not_read_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.png", encode(".png", np.zeros((4, 4, 3), np.uint8)))
    path.chmod(0)
    with pytest.raises(QueryError, match="not allowed to read"):
        read_query_image(path)
