"""Code 128 (code set B) barcodes as SVG: a code's `assets.barcode`. segno draws the QR code;
no barcode package is needed for one symbology."""

from __future__ import annotations

from xml.sax.saxutils import escape

# Bar/space module widths of symbol values 0..105 (ISO/IEC 15417), bar first; STOP has 7 widths.
PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232"
).split()
START_B = 104
STOP = "2331112"
QUIET_ZONE = 10


def code128_values(text: str) -> list[int]:
    """Start B, one value per character (printable ASCII; others become '?'), checksum."""
    values = [START_B]
    for character in text:
        code = ord(character)
        values.append(code - 32 if 32 <= code <= 126 else ord("?") - 32)
    checksum = (values[0] + sum(position * value for position, value in enumerate(values[1:], start=1))) % 103
    values.append(checksum)
    return values


def code128_svg(text: str, *, module: int = 2, height: int = 60) -> str:
    widths = "".join(PATTERNS[value] for value in code128_values(text)) + STOP
    x = QUIET_ZONE * module
    bars = []
    for index, width in enumerate(widths):
        width_px = int(width) * module
        if index % 2 == 0:
            bars.append(f'<rect x="{x}" y="0" width="{width_px}" height="{height}"/>')
        x += width_px
    total = x + QUIET_ZONE * module
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{height}" '
        f'viewBox="0 0 {total} {height}"><title>{escape(text)}</title>'
        f'<rect width="{total}" height="{height}" fill="#fff"/><g fill="#000">{"".join(bars)}</g></svg>'
    )
