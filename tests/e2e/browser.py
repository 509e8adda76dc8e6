"""Headless Chromium for end-to-end tests, and a dependency-free PNG reader for its screenshots.

Chromium is driven through its command line only (`--screenshot`, `--dump-dom`): no WebDriver, no DevTools
protocol, no Python package; `measure_layout` gets element boxes by running a small script in a copy of the
page. Each run gets a new empty profile and the flags that keep it off the network
(without them it calls Google hosts for components, sync and field trials).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from html import unescape
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


def dump_dom(binary: str, page: Path, width: int = 1280, height: int = 1000) -> str:
    """The DOM as the browser holds it after parsing (and after any scripts), serialised as HTML."""
    return run_chromium(binary, ["--dump-dom", f"--window-size={width},{height}", page.resolve().as_uri()]).stdout


# Runs in a copy of the page, after everything else: measures, then appends its findings as JSON in one <pre>.
_MEASURE_SCRIPT = """
<script>
(() => {
  const selectors = %s;
  const out = {viewport: [innerWidth, innerHeight], scrollWidth: document.documentElement.scrollWidth, elements: {}};
  for (const selector of selectors) {
    out.elements[selector] = [...document.querySelectorAll(selector)].map((el) => {
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      return {
        left: r.left, top: r.top, right: r.right, bottom: r.bottom,
        text: el.textContent,
        classes: el.getAttribute("class") || "",
        shown: style.display !== "none" && style.visibility === "visible" && parseFloat(style.opacity) > 0,
        on_top: hit !== null && (hit === el || el.contains(hit)),
      };
    });
  }
  const pre = document.createElement("pre");
  pre.id = "measured-layout";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


@dataclass(frozen=True)
class Box:
    """Where an element was laid out, in CSS pixels of the viewport (= screenshot pixels at scale factor 1)."""

    left: float
    top: float
    right: float
    bottom: float
    text: str
    classes: str
    shown: bool  # display, visibility and opacity of the element itself
    on_top: bool  # the element (or a child) is what a click at its centre would hit: nothing covers it

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def inside(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.top >= 0 and self.right <= width and self.bottom <= height


@dataclass(frozen=True)
class Layout:
    viewport: tuple[int, int]
    scroll_width: int
    elements: dict[str, list[Box]]


def measure_layout(binary: str, page: Path, selectors: Sequence[str], width: int, height: int) -> Layout:
    """Lay `page` out in a window of width x height and return the boxes of every element matching `selectors`.

    The page itself is left alone: a copy next to it gets a measuring script appended to its body.
    """
    html = page.read_text(encoding="utf-8")
    marker = "</body>"
    if marker not in html:
        raise ValueError(f"{page} has no </body> to append the measuring script to")
    probe = page.with_name(f"{page.stem}.measured{page.suffix}")
    script = _MEASURE_SCRIPT % json.dumps(list(selectors))
    probe.write_text(html.replace(marker, script + marker, 1), encoding="utf-8")
    dom = dump_dom(binary, probe, width, height)
    found = re.search(r'<pre id="measured-layout">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        raise AssertionError(f"the measuring script did not run in {probe}")
    data = json.loads(unescape(found.group(1)))
    return Layout(
        viewport=(data["viewport"][0], data["viewport"][1]),
        scroll_width=data["scrollWidth"],
        elements={selector: [Box(**box) for box in boxes] for selector, boxes in data["elements"].items()},
    )


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

    def colours(self, box: Box | None = None) -> Counter[tuple[int, int, int]]:
        """How many pixels of each RGB colour (alpha ignored), in the whole image or in the pixels `box` touches."""
        left, top, right, bottom = 0, 0, self.width, self.height
        if box is not None:
            left, top = max(0, math.floor(box.left)), max(0, math.floor(box.top))
            right, bottom = min(self.width, math.ceil(box.right)), min(self.height, math.ceil(box.bottom))
        counts: Counter[tuple[int, int, int]] = Counter()
        step = self.channels
        for row in self.rows[top:bottom]:
            part = row[left * step : right * step]
            counts.update(zip(part[0::step], part[1::step], part[2::step], strict=True))
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
