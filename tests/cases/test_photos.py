"""Photos: real images are accepted and read, anything else refused; copies carry no metadata."""

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from PIL.TiffImagePlugin import IFDRational

from gridsvc.cases import photos
from gridsvc.cases.photos import PhotoError
from tests.support import MAKER, XMP, cut, encode, exif, gps_ifd, opened, phone_jpeg, png_claiming, two_tone

LIMITS = {"max_bytes": 15 * 2**20, "max_pixels": 50_000_000}


@pytest.mark.parametrize("lon,lat", [(125.4563, 43.5217), (-73.9857, 40.7484), (151.2153, -33.8568),
                                     (-58.3816, -34.6037)])
def test_gps_is_read_with_the_sign_of_its_reference(lon, lat):
    info = photos.inspect(phone_jpeg(lon, lat), **LIMITS)
    assert info.gps.lon == pytest.approx(lon, abs=1e-6) and info.gps.lat == pytest.approx(lat, abs=1e-6)
    assert (info.format, info.content_type, info.width, info.height) == ("JPEG", "image/jpeg", 40, 20)


def test_degrees_minutes_seconds_are_rationals():
    gps = {1: "S", 2: (IFDRational(43, 1), IFDRational(3630, 100), IFDRational(1234, 100)),
           3: "W", 4: (IFDRational(125, 1), IFDRational(30, 1), IFDRational(0, 1))}
    info = photos.inspect(encode(two_tone(), "JPEG", exif(gps)), **LIMITS)
    assert info.gps.lat == pytest.approx(-(43 + 36.3 / 60 + 12.34 / 3600), abs=1e-12)
    assert info.gps.lon == pytest.approx(-125.5, abs=1e-12)


@pytest.mark.parametrize("gps", [
    {2: gps_ifd(125.4, 43.5)[2], 4: gps_ifd(125.4, 43.5)[4]},  # no N/S, E/W: cannot tell the sign
    {**gps_ifd(125.4, 43.5), 9: "V"},  # the receiver said "measurement void"
    {**gps_ifd(125.4, 43.5), 2: (IFDRational(43, 0), IFDRational(0, 1), IFDRational(0, 1))},  # 43/0
    {1: "N", 2: (IFDRational(0, 1),) * 3, 3: "E", 4: (IFDRational(0, 1),) * 3},  # (0, 0): no fix
    {**gps_ifd(125.4, 43.5), 2: (IFDRational(95, 1), IFDRational(0, 1), IFDRational(0, 1))},  # latitude 95
])
def test_unusable_gps_is_absent_not_guessed(gps):
    assert photos.inspect(encode(two_tone(), "JPEG", exif(gps)), **LIMITS).gps is None


def test_capture_time_with_and_without_an_offset():
    china = photos.inspect(phone_jpeg(taken="2026:11:25 10:00:00"), **LIMITS).taken_at
    assert china == datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # no offset written: China time
    paris = photos.inspect(phone_jpeg(taken="2026:11:25 10:00:00", offset="+01:00"), **LIMITS).taken_at
    assert paris.utcoffset() == timedelta(hours=1) and paris == datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
    assert photos.inspect(phone_jpeg(taken="0000:00:00 00:00:00"), **LIMITS).taken_at is None
    for unset_clock in ("0001:01:01 00:00:00", "1970:01:01 08:00:00", "9999:12:31 23:59:59"):
        assert photos.inspect(phone_jpeg(taken=unset_clock), **LIMITS).taken_at is None
    assert photos.inspect(encode(two_tone()), **LIMITS).taken_at is None


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_orientation_is_applied_to_the_copies(fmt):
    data = encode(two_tone(), fmt, exif(orientation=6))  # stored 40x20, shown turned a quarter clockwise
    info = photos.inspect(data, **LIMITS)
    assert (info.width, info.height, info.orientation) == (20, 40, 6)
    prepared = photos.prepare(data, **LIMITS)
    copy, thumb = opened(prepared.stripped), opened(prepared.thumbnail)
    assert copy.format == fmt and copy.size == (20, 40) and thumb.size == (20, 40)
    # Turned clockwise, the stored left half (red) is the top of the picture.
    for picture in (copy.convert("RGB"), thumb.convert("RGB")):
        top, bottom = picture.getpixel((10, 5)), picture.getpixel((10, 34))
        assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def _assert_no_metadata(data: bytes):
    image = opened(data)
    assert len(image.getexif()) == 0 and not image.getexif().get_ifd(0x8825)
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Description"} & set(image.info)
    assert MAKER.encode() not in data and b"Exif" not in data and b"adobe:ns:meta" not in data


def test_copies_of_a_phone_jpeg_carry_no_metadata():
    original = phone_jpeg(125.4563, 43.5217, orientation=6)
    assert MAKER.encode() in original and opened(original).info.get("icc_profile")
    prepared = photos.prepare(original, **LIMITS)
    for data in (prepared.stripped, prepared.thumbnail, photos.stripped_copy(original, **LIMITS),
                 photos.thumbnail(original, **LIMITS)):
        _assert_no_metadata(data)
    assert photos.inspect(prepared.stripped, **LIMITS).gps is None


def test_copies_of_png_and_webp_carry_no_metadata():
    text = PngInfo()
    text.add_text("Description", MAKER)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    png = encode(two_tone(mode="RGBA"), "PNG", exif(gps_ifd(125.4, 43.5)), pnginfo=text)
    webp = encode(two_tone(), "WEBP", exif(gps_ifd(125.4, 43.5)), xmp=XMP)
    for data, fmt in ((png, "PNG"), (webp, "WEBP")):
        assert photos.inspect(data, **LIMITS).gps is not None and MAKER.encode() in data
        prepared = photos.prepare(data, **LIMITS)
        _assert_no_metadata(prepared.stripped)
        _assert_no_metadata(prepared.thumbnail)
        assert opened(prepared.stripped).format == fmt and opened(prepared.thumbnail).format == "JPEG"
    assert opened(photos.prepare(png, **LIMITS).stripped).mode == "RGBA"  # transparency kept in PNG


def test_thumbnail_is_a_small_jpeg_and_small_pictures_are_not_enlarged():
    big = photos.prepare(encode(two_tone((1600, 900))), **LIMITS).thumbnail
    assert opened(big).format == "JPEG" and opened(big).size == (320, 180)
    small = photos.prepare(encode(two_tone((100, 50))), **LIMITS).thumbnail
    assert opened(small).size == (100, 50)


def test_a_multi_picture_jpeg_from_a_phone_is_a_jpeg():
    mpo = encode(two_tone(), "MPO", exif(gps_ifd(125.4, 43.5)), save_all=True, append_images=[two_tone()])
    assert opened(mpo).format == "MPO"
    info = photos.inspect(mpo, **LIMITS)
    assert info.format == "JPEG" and info.gps is not None
    assert opened(photos.prepare(mpo, **LIMITS).stripped).format == "JPEG"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_broken_exif_does_not_refuse_a_good_picture():
    data = encode(two_tone(), "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    info = photos.inspect(data, **LIMITS)
    assert info.gps is None and info.orientation == 1 and (info.width, info.height) == (40, 20)


def _refusal(data: bytes, **limits) -> PhotoError:
    with pytest.raises(PhotoError) as caught:
        photos.prepare(data, **{**LIMITS, **limits})
    with pytest.raises(PhotoError):
        photos.inspect(data, **{**LIMITS, **limits})
    return caught.value


@pytest.mark.parametrize("data,words", [
    (b"this is not a picture at all\n" * 10, "not a JPEG, PNG or WebP"),
    (b"", "empty"),
    (cut(phone_jpeg(125.4, 43.5, size=(400, 300))), "truncated"),
    (cut(encode(two_tone((400, 300)), "PNG")), "truncated"),
    (encode(two_tone(), "GIF"), "GIF is not accepted"),
    (encode(two_tone(), "BMP"), "BMP is not accepted"),
    (encode(two_tone(), "TIFF"), "TIFF is not accepted"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
])
def test_what_is_not_a_photo_is_refused_with_a_reason(data, words):
    error = _refusal(data)
    assert words in error.reason and " / " in error.reason and not error.file_too_large


def test_files_over_the_byte_limit_are_refused_before_parsing():
    error = _refusal(b"\xff\xd8" + b"\x00" * 2000, max_bytes=1000)  # not even a JPEG: never looked at
    assert error.file_too_large and "larger than" in error.reason


@pytest.mark.parametrize("width,height", [(9000, 9000), (100_000, 100_000)])
def test_pictures_over_the_pixel_limit_are_refused_before_decoding(width, height):
    """81 megapixels is over the setting but under Pillow's own guard; 10 gigapixels trips Pillow's."""
    bomb = png_claiming(width, height)
    assert len(bomb) < 100
    error = _refusal(bomb)
    assert "megapixels" in error.reason and not error.file_too_large


def test_the_pixel_limit_counts_the_picture_not_the_file():
    error = _refusal(encode(two_tone((400, 300))), max_pixels=100_000)
    assert "more than 0.1 megapixels" in error.reason
    assert photos.inspect(encode(two_tone((400, 250))), **{**LIMITS, "max_pixels": 100_000}).width == 400


def test_exotic_pixel_layouts_still_give_copies():
    for mode in ("L", "LA", "P", "I;16", "1", "CMYK"):
        data = encode(Image.new(mode, (30, 10)), "JPEG" if mode == "CMYK" else "PNG")
        prepared = photos.prepare(data, **LIMITS)
        assert opened(prepared.stripped).size == (30, 10) and opened(prepared.thumbnail).mode == "RGB"


def test_a_small_file_that_decodes_huge_is_refused_before_decoding():
    """Issue 14: a 47 KB single-colour PNG of 49 megapixels cost 2 s and 200 MB to decode."""
    bomb = encode(Image.new("L", (7000, 7000), 200), "PNG")
    assert len(bomb) < 200_000
    error = _refusal(bomb)
    assert "decompression bomb" in error.reason and not error.file_too_large


@pytest.mark.parametrize("file_bytes,refused", [(1_000_000, False), (100_000, True)])
def test_expansion_is_judged_against_the_file_size_past_a_floor(file_bytes, refused):
    with Image.open(io.BytesIO(png_claiming(6000, 4000))) as canvas:  # 72 MB decoded as RGB
        assert photos._expands_too_far(canvas, file_bytes) is refused
    with Image.open(io.BytesIO(png_claiming(2000, 2000))) as small:  # 12 MB: under the floor
        assert photos._expands_too_far(small, 1_000) is False
