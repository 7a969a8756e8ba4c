"""Reading a PNG's size from its header: the report sizes its figures by it, the screen renderings
check theirs, the deck tells a wide figure from a tall one."""
from __future__ import annotations

from pathlib import Path


def png_header_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's first 24 bytes (the IHDR chunk), without decoding the image."""
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def png_size(file: Path) -> tuple[int, int] | None:
    try:
        with open(file, "rb") as fh:
            return png_header_size(fh.read(24))
    except OSError:
        return None


def drop_opaque_alpha(file: Path) -> bool:
    """Re-save an RGBA PNG whose every pixel is opaque as RGB (Matplotlib writes RGBA even on a white
    page). The PDF writer splits an alpha channel into a mask of its own and re-encodes both, so an
    opaque figure is cheaper to print without one. Returns whether the file changed."""
    from PIL import Image

    with Image.open(file) as image:
        if image.mode != "RGBA" or image.getchannel("A").getextrema() != (255, 255):
            return False
        rgb = image.convert("RGB")
    rgb.save(file, format="PNG")
    return True
