"""Parsing a shapes-world image into objects: ink mask, connected components, colour, shape, size, centroid.

Shape comes from blur-invariant moment ratios of the component's ink (a Gaussian blur adds nothing to the third
and fourth cumulants): an upward triangle is skewed along y (skewness -0.57 for the continuous shape, 0 for the
others); a square's fourth-order cumulants are anisotropic (3 k22 / mean(k40, k04) = 0) where a circle's are
isotropic (= 1).

Robustness to degraded (generated) images: the moments weigh each pixel by the object's coverage estimated from
luminance, which JPEG keeps at full resolution while it halves and coarsely quantises chroma; the rim pixels
between two close objects go to the nearer one; colour distances count chroma at half weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from openimagen.data.shapes.vocab import FILL, OBJECT_SIDE, PALETTE

_INK_SCALE = 0.9          # 1 - darkest channel of a palette colour, roughly (so pure colour -> ink ~1)
_MASK_THRESHOLD = 0.5     # half coverage: the object's edge
_NOISE_FLOOR = 0.12       # coverage below this is treated as background when taking moments ...
_NOISE_SIGMAS = 3.0       # ... or below this many background noise deviations,
_MAX_FLOOR = 0.6          # but never above this
_RIM = 2                  # pixels around a component taken in as its anti-aliased / blurred rim
_MIN_AREA = 0.35          # components smaller than this fraction of a small triangle are noise
_MAX_AREA = 3.0           # a component with more than this many times a large object's area is no object
_TRIANGLE_SKEW = -0.20    # y-skewness below this: triangle (clean renders: others >= -0.1, triangles <= -0.33)
_SQUARE_ISOTROPY = 0.5    # 3 k22 / mean(k40, k04) below this: square


@dataclass(frozen=True)
class Detected:
    """One object found in an image (unit coordinates, y down)."""

    shape: str              # one of SHAPES, or "blob" for a component far larger than any object
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
_LUMA = np.array([0.299, 0.587, 0.114])          # ITU-R BT.601, JPEG's Y
_PALETTE_LUMA = {c: float(np.array(PALETTE[c]) @ _LUMA) / 255 for c in _COLOR_NAMES}
# Chroma counts half in colour distances: blur and JPEG desaturate an object far more than they change its lightness.
_LAB_WEIGHTS = np.array([1.0, 0.5, 0.5])


def nearest_color(rgb: np.ndarray) -> str:
    """Name of the palette colour nearest (CIELAB, chroma at half weight) to an sRGB colour in [0, 1]."""
    distances = np.linalg.norm((_PALETTE_LAB - _srgb_to_lab(rgb)) * _LAB_WEIGHTS, axis=-1)
    return _COLOR_NAMES[int(np.argmin(distances))]


def to_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """PIL image, uint8 array or float array [height, width, 3] in [0, 1] -> float64 [height, width, 3] in [0, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image: expected a PIL image or an array [height, width, 3], got shape {array.shape}")
    return array / 255.0 if array.dtype == np.uint8 else array.astype(np.float64, copy=False)


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


def _triangle_centroid_offset(weights: np.ndarray, cy: float) -> float:
    """How far an upward triangle's centroid lies below its bounding-box centre: h/6, where the y-variance of a
    triangle of height h is h^2/18 (its mass grows linearly from the apex)."""
    ys = np.arange(weights.shape[0], dtype=np.float64)[:, None]
    variance = float((weights * (ys - cy) ** 2).sum() / weights.sum())
    return float(np.sqrt(variance / 2))


def _coverage(rgb: np.ndarray, color: str, white: float, noise: float) -> np.ndarray:
    """Per-pixel coverage by an object of `color` on a background of luminance `white`, from luminance (which JPEG
    keeps at full resolution where it halves and coarsely quantises chroma). Coverage below a floor of
    `_NOISE_SIGMAS` background noise deviations is background: noise in the rim would dilute the shape moments."""
    contrast = white - _PALETTE_LUMA[color]
    alpha = (white - rgb @ _LUMA) / contrast
    floor = min(max(_NOISE_FLOOR, _NOISE_SIGMAS * noise / contrast), _MAX_FLOOR)
    return np.clip((alpha - floor) / (1 - floor), 0, 1)


def detect(image: Image.Image | np.ndarray) -> list[Detected]:
    """All objects in a shapes-world image, in reading order (top to bottom, left to right)."""
    rgb = to_array(image)
    height, width = rgb.shape[:2]
    ink = np.clip((1 - rgb.min(axis=-1)) / _INK_SCALE, 0, 1)
    # Ink: half-way from white to a palette colour both in the darkest channel and in luminance (JPEG smears
    # chroma, e.g. a yellow's blue channel, across the gap between two objects; luminance keeps the gap).
    luma_deficit = (1 - rgb @ _LUMA) / (1 - max(_PALETTE_LUMA.values()))
    labels, count = ndimage.label((ink > _MASK_THRESHOLD) & (luma_deficit > _MASK_THRESHOLD))
    min_pixels = _MIN_AREA * FILL["triangle"] * OBJECT_SIDE["small"] ** 2 * height * width
    # Every pixel within the rim width belongs to its nearest component (the rims of close neighbours split).
    distance, (iy, ix) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    owner = np.where(distance <= _RIM, labels[iy, ix], 0)
    # Background level and noise (robust: median, MAD) from the luminance of pixels away from every object.
    background = (rgb @ _LUMA)[distance > _RIM + 1]
    white = float(np.median(background)) if background.size else 1.0
    noise = 1.4826 * float(np.median(np.abs(background - white))) if background.size else 0.0
    found = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        own = labels[box] == index
        if own.sum() < min_pixels:
            continue
        # Grow the box to take in the anti-aliased / blurred rim (the pixels this component owns).
        y0, y1 = max(box[0].start - _RIM, 0), min(box[0].stop + _RIM, height)
        x0, x1 = max(box[1].start - _RIM, 0), min(box[1].stop + _RIM, width)
        crop_labels = labels[y0:y1, x0:x1]
        region = owner[y0:y1, x0:x1] == index
        crop_ink = ink[y0:y1, x0:x1] * (crop_labels == index)
        core = crop_ink >= 0.85 * crop_ink.max()
        color = nearest_color(rgb[y0:y1, x0:x1][core].mean(axis=0))
        weights = _coverage(rgb[y0:y1, x0:x1], color, white, noise) * region
        unreadable = weights.sum() <= 0   # e.g. lighter than a tinted background: no coverage to take moments of
        if unreadable:
            weights = region.astype(np.float64)
        cy, cx, skew, isotropy = _moment_features(weights)
        shape = "triangle" if skew < _TRIANGLE_SKEW else ("square" if isotropy < _SQUARE_ISOTROPY else "circle")
        if shape == "triangle":   # report the bounding-box centre, as the layout places objects
            cy -= _triangle_centroid_offset(weights, cy)
        area = float(weights.sum()) / (height * width)
        size = "large" if area > _SIZE_SPLIT[shape] else "small"
        if unreadable or area > _MAX_AREA * FILL[shape] * OBJECT_SIDE["large"] ** 2:
            shape = "blob"        # unreadable, or far larger than any object (noise): matches no spec group
        found.append(Detected(shape, color, size, float(x0 + cx + 0.5) / width, float(y0 + cy + 0.5) / height,
                              area, skew, isotropy))
    return found
