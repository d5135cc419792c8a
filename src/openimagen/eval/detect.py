"""Parsing a shapes-world image into objects: ink mask, connected components, colour, shape, size, centroid.

Shape comes from blur-invariant moment ratios of the component's ink (a Gaussian blur adds nothing to the third
and fourth cumulants): an upward triangle is skewed along y (skewness -0.57 for the continuous shape, 0 for the
others); a square's fourth-order cumulants are anisotropic (3 k22 / mean(k40, k04) = 0) where a circle's are
isotropic (= 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from openimagen.data.shapes.vocab import FILL, OBJECT_SIDE, PALETTE

_INK_SCALE = 0.9          # 1 - darkest channel of a palette colour, roughly (so pure colour -> ink ~1)
_MASK_THRESHOLD = 0.5     # half coverage: the object's edge
_NOISE_FLOOR = 0.12       # ink below this is treated as background when taking moments
_MIN_AREA = 0.35          # components smaller than this fraction of a small triangle are noise
_TRIANGLE_SKEW = -0.25    # y-skewness below this: triangle
_SQUARE_ISOTROPY = 0.5    # 3 k22 / mean(k40, k04) below this: square


@dataclass(frozen=True)
class Detected:
    """One object found in an image (unit coordinates, y down)."""

    shape: str
    color: str
    size: str
    cx: float
    cy: float
    area: float             # ink area as a fraction of the canvas
    skew: float             # y-skewness (triangle < 0)
    isotropy: float         # 3 k22 / mean(k40, k04) (circle ~1, square ~0)

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] [..., 3] -> CIELAB (D65)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


_COLOR_NAMES = tuple(PALETTE)
_PALETTE_LAB = _srgb_to_lab(np.array([PALETTE[c] for c in _COLOR_NAMES], dtype=np.float64) / 255)
# Expected ink area (fraction of canvas) of each (shape, size): size is decided by the nearer one in log-area.
_SIZE_SPLIT = {shape: FILL[shape] * OBJECT_SIDE["small"] * OBJECT_SIDE["large"] for shape in FILL}


def nearest_color(rgb: np.ndarray) -> str:
    """Name of the palette colour nearest (CIELAB) to an sRGB colour in [0, 1]."""
    distances = np.linalg.norm(_PALETTE_LAB - _srgb_to_lab(rgb), axis=-1)
    return _COLOR_NAMES[int(np.argmin(distances))]


def to_array(image: Image.Image) -> np.ndarray:
    """PIL image -> float64 [height, width, 3] in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255


def _moment_features(weights: np.ndarray) -> tuple[float, float, float, float]:
    """(cy, cx, y-skewness, fourth-order isotropy) of a non-negative weight image."""
    total = weights.sum()
    ys, xs = np.indices(weights.shape, dtype=np.float64)
    cy, cx = (weights * ys).sum() / total, (weights * xs).sum() / total
    dy, dx = ys - cy, xs - cx

    def moment(py: int, px: int) -> float:
        return float((weights * dy**py * dx**px).sum() / total)

    m20, m02, m11 = moment(2, 0), moment(0, 2), moment(1, 1)
    skew = moment(3, 0) / max(m20, 1e-9) ** 1.5
    k40 = moment(4, 0) - 3 * m20**2
    k04 = moment(0, 4) - 3 * m02**2
    k22 = moment(2, 2) - m20 * m02 - 2 * m11**2
    isotropy = 3 * k22 / min((k40 + k04) / 2, -1e-9)
    return cy, cx, skew, isotropy


def detect(image: Image.Image | np.ndarray) -> list[Detected]:
    """All objects in a shapes-world image, in reading order (top to bottom, left to right)."""
    rgb = to_array(image) if isinstance(image, Image.Image) else image
    height, width = rgb.shape[:2]
    ink = np.clip((1 - rgb.min(axis=-1)) / _INK_SCALE, 0, 1)
    labels, count = ndimage.label(ink > _MASK_THRESHOLD)
    min_pixels = _MIN_AREA * FILL["triangle"] * OBJECT_SIDE["small"] ** 2 * height * width
    weights_all = np.clip((ink - _NOISE_FLOOR) / (1 - _NOISE_FLOOR), 0, 1)
    found = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        own = labels[box] == index
        if own.sum() < min_pixels:
            continue
        # Grow the box by 2 px to take in the anti-aliased rim, without other objects' pixels.
        y0, y1 = max(box[0].start - 2, 0), min(box[0].stop + 2, height)
        x0, x1 = max(box[1].start - 2, 0), min(box[1].stop + 2, width)
        crop_labels = labels[y0:y1, x0:x1]
        region = ndimage.binary_dilation(crop_labels == index, iterations=2) & np.isin(crop_labels, (0, index))
        weights = weights_all[y0:y1, x0:x1] * region
        cy, cx, skew, isotropy = _moment_features(weights)
        crop_ink = ink[y0:y1, x0:x1] * (crop_labels == index)
        core = crop_ink >= 0.85 * crop_ink.max()
        color = nearest_color(rgb[y0:y1, x0:x1][core].mean(axis=0))
        shape = "triangle" if skew < _TRIANGLE_SKEW else ("square" if isotropy < _SQUARE_ISOTROPY else "circle")
        area = float(weights.sum()) / (height * width)
        size = "large" if area > _SIZE_SPLIT[shape] else "small"
        found.append(Detected(shape, color, size, (x0 + cx + 0.5) / width, (y0 + cy + 0.5) / height,
                              area, skew, isotropy))
    return found
