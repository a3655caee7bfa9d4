"""PNG files written straight from an RGB or RGBA pixel array (pure: numpy and zlib, no I/O).

The figures are mostly flat colour: rows stored unfiltered at zlib level 3 are smaller than
Pillow's adaptive filters at its default level 6 and take a third of the CPU. One compression
gives two images: the whole picture and its first rows (the report's figure without the caption
rows), the compressor's state copied where the shorter image ends.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMPRESS_LEVEL = 3
COLOUR_TYPES = {3: 2, 4: 6}   # channels -> PNG colour type: 8-bit RGB, 8-bit RGBA


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _png(width: int, height: int, channels: int, idat: bytes, dpi: float | None) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPES[channels], 0, 0, 0)   # no interlace
    # pHYs, pixels per metre: a document (LaTeX, Word) sizes the figure by it, as it did matplotlib's PNGs.
    size = b"" if dpi is None else _chunk(b"pHYs", struct.pack(">IIB", *(2 * [int(dpi / 0.0254 + 0.5)]), 1))
    return SIGNATURE + _chunk(b"IHDR", header) + size + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _scanlines(pixels: np.ndarray, what: str) -> np.ndarray:
    """The rows as PNG stores them: each behind its filter byte, 0 (none)."""
    if pixels.ndim != 3 or pixels.shape[2] not in COLOUR_TYPES or pixels.dtype != np.uint8:
        raise ValueError(f"need uint8 {what} rows, got {pixels.shape} {pixels.dtype}")
    height, width, channels = pixels.shape
    scanlines = np.empty((height, 1 + channels * width), dtype=np.uint8)
    scanlines[:, 0] = 0
    scanlines[:, 1:] = pixels.reshape(height, channels * width)
    return scanlines


def png_pair(rgb: np.ndarray, top_rows: int, level: int = COMPRESS_LEVEL, *,
             dpi: float | None = None) -> tuple[bytes, bytes]:
    """The PNG of ``rgb`` (rows x columns x 3, uint8) and the PNG of its first ``top_rows`` rows;
    with ``dpi``, both say their resolution."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or not 0 < top_rows <= rgb.shape[0]:
        raise ValueError(f"need uint8 RGB rows and 0 < top_rows <= {rgb.shape[0]}, got {rgb.shape} {rgb.dtype} "
                         f"{top_rows}")
    scanlines = _scanlines(rgb, "RGB")
    compressor = zlib.compressobj(level)   # reads the rows where they are (contiguous): no copy to bytes
    head = compressor.compress(scanlines[:top_rows].data)
    top = compressor.copy()
    top_idat = head + top.flush()
    full_idat = head + compressor.compress(scanlines[top_rows:].data) + compressor.flush()
    height, width, _ = rgb.shape
    return _png(width, height, 3, full_idat, dpi), _png(width, top_rows, 3, top_idat, dpi)


def png_image(pixels: np.ndarray, level: int = COMPRESS_LEVEL) -> bytes:
    """The PNG of ``pixels``: rows x columns x 3 (RGB) or 4 (RGBA, straight alpha), uint8."""
    scanlines = _scanlines(pixels, "RGB or RGBA")
    height, width, channels = pixels.shape
    return _png(width, height, channels, zlib.compress(scanlines.data, level), None)
