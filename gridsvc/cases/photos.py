"""Photos of a case: check the bytes, read what EXIF says, make copies safe to hand out.

Pure functions, no database. A photo is evidence that someone stood at the
reported place, so the service reads the phone's EXIF GPS and capture time;
but the same EXIF tells anyone who downloads the picture where and when it
was taken and with which phone, so no copy that leaves the service carries
any of it: the shared copy and the thumbnail are re-encoded from the pixels
alone (no EXIF, XMP, ICC profile, comment or text chunks), with the EXIF
orientation applied first so the picture still stands the right way up.
Re-encoding also drops anything hidden after or inside the original file.

Only JPEG, PNG and WebP are accepted (what phones and browsers send; HEIC
from an iPhone's own app is not readable without an extra codec). The byte
limit is checked before parsing, the pixel count from the header before
decoding (a small file can declare a huge canvas: a decompression bomb), as is how far the
file would expand (a file small for its canvas is one too), and
the whole image is decoded once, so truncated files are refused here rather
than shown half-grey later. Any failure of the image parser on untrusted
bytes means "not a readable image", never an internal error.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image, ImageCms

from gridsvc.kernel.errors import TOO_LARGE, DomainError
from gridsvc.worktime.calendar import CHINA

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Phones write JPEGs with a Multi-Picture extension (a depth map, a preview): Pillow calls them MPO.
_ALIASES = {"MPO": "JPEG"}
THUMBNAIL_SIDE = 320
# A picture may decode to at most this many times its file's bytes, once it decodes to more than
# the floor (`_expands_too_far` says why).
MAX_EXPANSION = 100
EXPANSION_FLOOR_BYTES = 32 * 2**20
_COPY_OPTIONS = {"JPEG": {"quality": 90}, "PNG": {}, "WEBP": {"quality": 90}}
# Magic numbers of images we refuse, to tell the sender what they sent (never parsed further).
_KNOWN_OTHERS = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\x00", "TIFF"),
                 (b"MM\x00*", "TIFF"), (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"))
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif")

_ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_STATUS = 1, 2, 3, 4, 9
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoError(DomainError, ValueError):
    """Bytes that are not an acceptable photo; `reason` is for the sender (zh-CN / English).

    The error is about the input `photo` (the multipart field every upload uses), `reason` its
    message. `file_too_large` marks a file over the byte limit: kind `too_large`, code
    `photo_too_large`, rather than an `invalid` photo, so the sender knows that only a smaller
    file helps.
    """

    field = "photo"

    def __init__(self, reason: str, file_too_large: bool = False):
        if file_too_large:
            super().__init__(reason, kind=TOO_LARGE, code="photo_too_large")
            self.summary = "照片过大 / the photo is too large"
        else:
            super().__init__(reason)
        self.reason, self.file_too_large = reason, file_too_large


@dataclass(frozen=True)
class GpsPoint:
    """Where EXIF says the photo was taken: WGS84 longitude and latitude in degrees."""

    lon: float
    lat: float


@dataclass(frozen=True)
class PhotoInfo:
    """What a photo is, as read from its bytes. Width and height are as displayed (orientation applied)."""

    format: str  # JPEG, PNG or WEBP
    content_type: str
    width: int
    height: int
    size_bytes: int
    gps: GpsPoint | None
    taken_at: datetime | None  # aware; EXIF without an offset is taken as China time
    orientation: int  # the EXIF orientation (1: as stored)


@dataclass(frozen=True)
class PreparedPhoto:
    """A checked photo and its two copies that may leave the service (one decode for all three)."""

    info: PhotoInfo
    stripped: bytes  # same format as the original, no metadata, orientation applied
    thumbnail: bytes  # JPEG, longest side THUMBNAIL_SIDE, no metadata


def inspect(data: bytes, max_bytes: int, max_pixels: int) -> PhotoInfo:
    """Check the bytes and read the photo's format, size and EXIF; raises PhotoError."""
    with _decoded(data, max_bytes, max_pixels) as image:
        return _info(image, len(data))


def stripped_copy(data: bytes, max_bytes: int, max_pixels: int) -> bytes:
    """The photo re-encoded in its own format with no metadata and the orientation applied."""
    return prepare(data, max_bytes, max_pixels).stripped


def thumbnail(data: bytes, max_bytes: int, max_pixels: int, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG no larger than `side` on its longest edge, with no metadata."""
    with _decoded(data, max_bytes, max_pixels) as image:
        try:
            return _thumbnail(_upright(image), side)
        except Exception:  # noqa: BLE001 - as in prepare
            raise _unconvertible() from None


def prepare(data: bytes, max_bytes: int, max_pixels: int) -> PreparedPhoto:
    """Check the photo, read its EXIF, and make the stripped copy and the thumbnail."""
    with _decoded(data, max_bytes, max_pixels) as image:
        info = _info(image, len(data))
        try:
            upright = _upright(image)
            buffer = io.BytesIO()
            (_opaque(upright) if info.format == "JPEG" else upright).save(
                buffer, info.format, **_COPY_OPTIONS[info.format])
            return PreparedPhoto(info, buffer.getvalue(), _thumbnail(upright, THUMBNAIL_SIDE))  # shrinks upright
        except Exception:  # noqa: BLE001 - a pixel layout Pillow cannot convert (an exotic PNG mode)
            raise _unconvertible() from None


@contextmanager
def _decoded(data: bytes, max_bytes: int, max_pixels: int) -> Iterator[Image.Image]:
    """Untrusted bytes opened and fully decoded within the limits; the image is closed afterwards."""
    image = _decode(data, max_bytes, max_pixels)
    try:
        yield image
    finally:
        image.close()


def _decode(data: bytes, max_bytes: int, max_pixels: int) -> Image.Image:
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise PhotoError("文件为空 / the file is empty")
    if len(data) > max_bytes:
        raise PhotoError(f"文件超过 {_megabytes(max_bytes)} / the file is larger than {_megabytes(max_bytes)}",
                         file_too_large=True)
    other = _other_format(data)
    if other:
        raise PhotoError(f"不支持 {other} 格式，请用 JPEG、PNG 或 WebP / {other} is not accepted: "
                         "send JPEG, PNG or WebP")
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS) + list(_ALIASES))
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except Exception:  # noqa: BLE001 - any parser failure on untrusted bytes means "not an image"
        raise PhotoError("不是可识别的 JPEG、PNG 或 WebP 图片 / not a JPEG, PNG or WebP image") from None
    try:
        width, height = image.size
        if width * height > max_pixels:  # from the header: nothing is decoded yet
            raise _too_many_pixels(max_pixels)
        if _expands_too_far(image, len(data)):
            raise PhotoError("图片压缩比异常，疑为解压炸弹 / the image expands far beyond its file size "
                             "(a decompression bomb?)")
        image.load()
    except PhotoError:
        image.close()
        raise
    except Image.DecompressionBombError:
        image.close()
        raise _too_many_pixels(max_pixels) from None
    except Exception:  # noqa: BLE001 - truncated or corrupt data, whatever the decoder raised
        image.close()
        raise PhotoError("图片数据不完整或已损坏 / the image is truncated or corrupt") from None
    return image


def _expands_too_far(image: Image.Image, size_bytes: int) -> bool:
    """Whether decoding would take more than `MAX_EXPANSION` times the file's size, past a floor.

    The pixel limit alone let a 47 KB single-colour PNG of 49 megapixels cost 2 s and 200 MB
    (issue 14). Real photos expand about tenfold (JPEG) and screenshots some tens of times; so
    the memory a sender can make the service spend stays in proportion to what they send.
    """
    width, height = image.size
    decoded = width * height * max(3, len(image.getbands()))  # the copies are made in RGB(A)
    return decoded > EXPANSION_FLOOR_BYTES and decoded > MAX_EXPANSION * size_bytes


def _unconvertible() -> PhotoError:
    return PhotoError("无法转换此图片的像素格式 / the image's pixel format cannot be converted")


def _too_many_pixels(max_pixels: int) -> PhotoError:
    megapixels = f"{max_pixels / 1e6:g}"
    return PhotoError(f"图片超过 {megapixels} 百万像素 / the image has more than {megapixels} megapixels")


def _megabytes(count: int) -> str:
    return f"{count / 2**20:g} MB"


def _other_format(data: bytes) -> str | None:
    for magic, name in _KNOWN_OTHERS:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIC/AVIF"
    return None


def _info(image: Image.Image, size_bytes: int) -> PhotoInfo:
    fmt = _ALIASES.get(image.format, image.format)
    exif = _exif(image)
    orientation = _orientation(exif)
    width, height = image.size
    if orientation >= 5:  # 5-8 turn the picture a quarter
        width, height = height, width
    return PhotoInfo(
        format=fmt, content_type=FORMATS[fmt], width=width, height=height, size_bytes=size_bytes,
        gps=_gps(exif), taken_at=_taken_at(exif), orientation=orientation,
    )


def _exif(image: Image.Image) -> Image.Exif | None:
    """The EXIF, or None when it cannot be read: bad metadata does not make a bad photo."""
    try:
        exif = image.getexif()
        exif.get_ifd(_GPS_IFD)
        exif.get_ifd(_EXIF_IFD)
        return exif
    except Exception:  # noqa: BLE001 - malformed EXIF from untrusted bytes
        return None


def _orientation(exif: Image.Exif | None) -> int:
    value = exif.get(_ORIENTATION, 1) if exif is not None else 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _gps(exif: Image.Exif | None) -> GpsPoint | None:
    """EXIF GPS as signed decimal degrees, or None when absent, void or implausible.

    Degrees, minutes and seconds are three rationals; the S and W references
    make the value negative. A missing reference is refused rather than
    guessed, and (0, 0) is what phones write without a fix.
    """
    if exif is None:
        return None
    gps = exif.get_ifd(_GPS_IFD)
    if _ref(gps.get(_GPS_STATUS)) == "V":  # "measurement void"
        return None
    lat = _degrees(gps.get(_GPS_LAT), _ref(gps.get(_GPS_LAT_REF)), "N", "S", 90)
    lon = _degrees(gps.get(_GPS_LON), _ref(gps.get(_GPS_LON_REF)), "E", "W", 180)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None
    return GpsPoint(lon=lon, lat=lat)


def _ref(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ").upper()[:1] if isinstance(value, str) else None


def _degrees(value, ref: str | None, positive: str, negative: str, limit: float) -> float | None:
    if ref not in (positive, negative):
        return None
    parts = value if isinstance(value, (tuple, list)) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = sum(number / 60**i for i, number in enumerate(numbers))
    if not math.isfinite(degrees) or any(number < 0 for number in numbers) or degrees > limit:
        return None
    return -degrees if ref == negative else degrees


_PLAUSIBLE_YEARS = (1990, 2100)


def _taken_at(exif: Image.Exif | None) -> datetime | None:
    """DateTimeOriginal, with OffsetTimeOriginal when written; without it the phone's clock is taken
    to be China time (the service's phones are in China)."""
    if exif is None:
        return None
    tags = exif.get_ifd(_EXIF_IFD)
    raw = _text(tags.get(_DATETIME_ORIGINAL))
    try:
        moment = datetime.strptime(raw, "%Y:%m:%d %H:%M:%S")
    except (TypeError, ValueError):
        return None
    offset = _text(tags.get(_OFFSET_TIME_ORIGINAL))
    try:
        sign = {"+": 1, "-": -1}[offset[0]]
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    except (TypeError, ValueError, KeyError, IndexError):
        zone = CHINA
    if not _PLAUSIBLE_YEARS[0] <= moment.year <= _PLAUSIBLE_YEARS[1]:
        return None  # a camera with its clock unset (year 1, 1970 …): no capture time
    return moment.replace(tzinfo=zone)


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else None


def _upright(image: Image.Image) -> Image.Image:
    """The picture as it should be seen: EXIF orientation applied, colours in sRGB, RGB or RGBA."""
    orientation = _orientation(_exif(image))
    picture = _srgb(image)
    if orientation in _TRANSPOSE:
        picture = picture.transpose(_TRANSPOSE[orientation])
    picture.info = {}  # a new image (converted above), now carrying pixels only: nothing is copied out
    return picture


_SRGB = ImageCms.createProfile("sRGB")


def _srgb(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels; an embedded colour profile (a phone's Display P3) is converted to sRGB
    first, since the copies carry no profile and would otherwise show shifted colours."""
    alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if alpha else "RGB"
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode if image.mode != "CMYK" else "RGB")
        except Exception:  # noqa: BLE001 - a broken profile: fall back to the plain conversion
            pass
    return image.convert(mode)


def _opaque(image: Image.Image) -> Image.Image:
    """RGB for JPEG, which cannot hold alpha: a transparent picture is composited on white."""
    if image.mode != "RGBA":
        return image
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def _thumbnail(upright: Image.Image, side: int) -> bytes:
    """The JPEG thumbnail; shrinks `upright` in place when it is RGB (no second full-size copy)."""
    small = _opaque(upright)
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()
