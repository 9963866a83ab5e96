"""Draws a certificate as a PNG (Pillow) with a QR code carrying its signed payload."""
from __future__ import annotations

import io
from typing import List, Tuple

import qrcode
from PIL import Image, ImageDraw, ImageFont

from backends.certificate.domain import CertificateDocument

TITLE = "Sertifikat Vaksinasi COVID-19"
ISSUER = "Kementerian Kesehatan Republik Indonesia"
WIDTH, HEIGHT = 1200, 800
QR_SIZE = 340
QR_BORDER = 2
FOOTER = ("Dokumen ini diterbitkan secara elektronik dan sah tanpa tanda tangan. "
          "Keasliannya dapat diperiksa dengan memindai kode QR.")
MARGIN = 48
_HEADER_COLOUR = (0, 110, 120)
_TEXT_COLOUR = (33, 37, 41)
_MUTED_COLOUR = (108, 117, 125)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> List[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + [current] if current else lines


def _qr_image(payload: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_BORDER)
    code.add_data(payload)
    code.make(fit=True)
    # Whole pixels per module (no resampling) keep the modules sharp for phone cameras.
    code.box_size = max(1, QR_SIZE // (code.modules_count + 2 * QR_BORDER))
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


def _fields(document: CertificateDocument) -> List[Tuple[str, str]]:
    return [
        ("Nama", document.name),
        ("NIK", document.nik_masked),
        ("Dosis", document.dose_label),
        ("Tanggal vaksinasi", document.date_text),
        ("Jenis vaksin", document.brand),
        ("Lokasi vaksinasi", document.site),
        ("Nomor sertifikat", document.number),
    ]


def render_png(document: CertificateDocument) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 130), fill=_HEADER_COLOUR)
    draw.text((MARGIN, 28), TITLE, font=_font(44), fill="white")
    draw.text((MARGIN, 84), ISSUER, font=_font(24), fill="white")

    label_font, value_font = _font(20), _font(28)
    text_width = WIDTH - QR_SIZE - 3 * MARGIN
    y = 170
    for label, value in _fields(document):
        draw.text((MARGIN, y), label, font=label_font, fill=_MUTED_COLOUR)
        y += 26
        for line in _wrap(draw, value, value_font, text_width)[:2]:
            draw.text((MARGIN, y), line, font=value_font, fill=_TEXT_COLOUR)
            y += 34
        y += 12

    qr = _qr_image(document.qr_payload)
    qr_left, qr_top = WIDTH - MARGIN - QR_SIZE + (QR_SIZE - qr.width) // 2, 190 + (QR_SIZE - qr.height) // 2
    image.paste(qr, (qr_left, qr_top))
    draw.text((WIDTH - MARGIN - QR_SIZE, 190 + QR_SIZE + 14), "Pindai untuk memverifikasi keaslian",
              font=_font(20), fill=_MUTED_COLOUR)
    draw.line((MARGIN, HEIGHT - 56, WIDTH - MARGIN, HEIGHT - 56), fill=(222, 226, 230), width=2)
    draw.text((MARGIN, HEIGHT - 42), FOOTER, font=_font(18), fill=_MUTED_COLOUR)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
