"""Read a QR code back out of a PNG, with the standard library only (no image or QR decoding library
is installed): the PNG's pixels, then the grid of dark and light modules they draw.

    modules = qr_modules(png_bytes)
    assert modules == [list(row) for row in segno.make_qr(code, error="m").matrix]

The grid equal to the one a QR encoder makes of the expected text shows that the image is a QR code
of that text. The grid is read from the image alone: the quiet zone is cropped and the module size
is read off the top-left finder pattern (seven modules wide), so no scale or border is assumed.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FINDER_MODULES = 7


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def grey_pixels(data: bytes) -> list[list[int]]:
    """The pixels of a non-interlaced greyscale PNG (bit depth 1, 2, 4 or 8), each 0 (black) to 255."""
    assert data.startswith(SIGNATURE), "not a PNG"
    position, chunks = len(SIGNATURE), {}
    compressed = b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IDAT":
            compressed += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (colour, interlace) == (0, 0) and depth in (1, 2, 4, 8), (depth, colour, interlace)
    raw = zlib.decompress(compressed)
    stride = (width * depth + 7) // 8
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):  # filters work on bytes; at bit depths below 8 a "pixel" is one byte
            left = line[x - 1] if x else 0
            up, up_left = previous[x], previous[x - 1] if x else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind]
            line[x] = (line[x] + predictor) & 0xFF
        previous = line
        bits = "".join(f"{byte:08b}" for byte in line)
        top = (1 << depth) - 1
        rows.append([int(bits[x * depth : (x + 1) * depth], 2) * 255 // top for x in range(width)])
    return rows


def qr_modules(data: bytes) -> list[list[int]]:
    """The QR code's modules (1 dark, 0 light), row by row, without the quiet zone."""
    dark = [[pixel < 128 for pixel in row] for row in grey_pixels(data)]
    rows = [y for y, row in enumerate(dark) if any(row)]
    columns = [x for x in range(len(dark[0])) if any(row[x] for row in dark)]
    top, left, bottom, right = rows[0], columns[0], rows[-1], columns[-1]
    finder = 0
    while dark[top][left + finder]:
        finder += 1
    size = finder / FINDER_MODULES
    count = round((right - left + 1) / size)
    assert count == round((bottom - top + 1) / size), "not a square grid of modules"
    centres = [int((index + 0.5) * size) for index in range(count)]
    return [[int(dark[top + y][left + x]) for x in centres] for y in centres]
