"""Real images built in memory with Pillow, with the EXIF a phone writes (GPS, time, orientation)."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction

from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

MAKER = "SecretPhone-X9"  # a string that must never appear in a copy leaving the service
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Make="' + MAKER.encode()
       + b'"/></rdf:RDF></x:xmpmeta>')


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Unsigned degrees as EXIF writes them: degrees, minutes, seconds as rationals."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 10000), 10000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds.numerator, seconds.denominator)


def gps_ifd(lon: float, lat: float) -> dict:
    return {0: b"\x02\x02\x00\x00", 1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W",
            4: dms(lon)}


def exif(gps: dict | None = None, orientation: int | None = None, taken: str | None = "2026:11:25 10:00:00",
         offset: str | None = None) -> Image.Exif:
    data = Image.Exif()
    data[0x010F] = MAKER  # Make
    data[0x0110] = MAKER  # Model
    if orientation:
        data[0x0112] = orientation
    details = data.get_ifd(0x8769)
    if taken:
        details[0x9003] = taken
    if offset:
        details[0x9011] = offset
    if gps:
        data.get_ifd(0x8825).update(gps)
    return data


def two_tone(size=(40, 20), mode="RGB") -> Image.Image:
    """Left half red, right half blue: shows which way a picture was turned."""
    image = Image.new(mode, size, (0, 0, 255) if mode == "RGB" else (0, 0, 255, 255))
    image.paste((255, 0, 0) if mode == "RGB" else (255, 0, 0, 255), (0, 0, size[0] // 2, size[1]))
    return image


def encode(image: Image.Image, fmt: str = "JPEG", metadata: Image.Exif | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    if metadata is not None:
        options["exif"] = metadata
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def phone_jpeg(lon: float | None = None, lat: float | None = None, orientation: int | None = None,
               size=(40, 20), **exif_options) -> bytes:
    """A JPEG as a phone writes it: EXIF (maker, time, GPS, orientation), XMP, an ICC profile, a comment."""
    gps = gps_ifd(lon, lat) if lon is not None else None
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(two_tone(size), "JPEG", exif(gps, orientation, **exif_options), xmp=XMP, icc_profile=srgb,
                  comment=MAKER.encode(), quality=95)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's shape)."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    struct.pack_into(">II", data, 16, width, height)  # IHDR data starts at byte 16
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def cut(data: bytes) -> bytes:
    """The first three quarters of a file: an upload broken off in the middle of the picture data."""
    return data[:len(data) * 3 // 4]


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
