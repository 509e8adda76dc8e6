"""Headless Chromium for end-to-end tests, and a dependency-free PNG reader for its screenshots.

Chromium is driven through its command line only (`--screenshot`, `--dump-dom`): no WebDriver, no DevTools
protocol, no Python package. Each run gets a new empty profile and the flags that keep it off the network
(without them it calls Google hosts for components, sync and field trials).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FALLBACK_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
TIMEOUT_SECONDS = 60
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--force-color-profile=srgb",  # screenshot pixels are the page's CSS colours, not a display's rendition
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str | None:
    """The first Chromium or Chrome binary on PATH (or at Debian's path), else None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in FALLBACK_PATHS if os.access(path, os.X_OK)), None)


def chromium_version(binary: str) -> str:
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    return result.stdout.strip()


def run_chromium(binary: str, arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """One headless run with a fresh profile; raises with Chromium's stderr when it fails or hangs."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", *arguments]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"Chromium did not finish within {TIMEOUT_SECONDS}s: {command}") from exc
    if result.returncode != 0:
        raise AssertionError(f"Chromium exited with {result.returncode}: {command}\n{result.stderr[-4000:]}")
    return result


def screenshot(binary: str, page: Path, png: Path, width: int, height: int) -> None:
    run_chromium(binary, [f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri()])


def dump_dom(binary: str, page: Path) -> str:
    """The DOM as the browser holds it after parsing (and after any scripts), serialised as HTML."""
    return run_chromium(binary, ["--dump-dom", page.resolve().as_uri()]).stdout


@dataclass(frozen=True)
class Image:
    """Decoded 8-bit RGB(A) pixels, row by row."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        start = x * self.channels
        r, g, b = self.rows[y][start : start + 3]
        return r, g, b

    def colours(self, top: int = 0, bottom: int | None = None) -> Counter[tuple[int, int, int]]:
        """How many pixels of each RGB colour in rows top..bottom (alpha ignored)."""
        counts: Counter[tuple[int, int, int]] = Counter()
        step = self.channels
        for row in self.rows[top:bottom]:
            counts.update(zip(row[0::step], row[1::step], row[2::step], strict=True))
        return counts


def read_png(path: Path) -> Image:
    """Decode a non-interlaced 8-bit RGB or RGBA PNG (what Chromium writes) with zlib alone."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{path} is not a PNG (signature {data[:8]!r})")
    offset = len(PNG_SIGNATURE)
    header: tuple[int, ...] = ()
    compressed = bytearray()
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
        offset += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour_type}, interlace {interlace})")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(bytes(compressed))
    stride = width * channels
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        previous = bytes(line)
        rows.append(previous)
    return Image(width, height, channels, rows)


def _unfilter(kind: int, line: bytearray, previous: bytes, bpp: int) -> None:
    """Undo one scanline's PNG filter in place (RFC 2083, section 6)."""
    if kind == 0:
        return
    if kind == 1:  # Sub
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:  # Up
        for i, above in enumerate(previous):
            line[i] = (line[i] + above) & 0xFF
    elif kind == 3:  # Average
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + predictor) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
