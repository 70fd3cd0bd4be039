"""Real bad files: corrupt, encrypted, image-only, empty."""

from __future__ import annotations

from pathlib import Path


def corrupt_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis is not a pdf body\n%%EOF")
    return path


def encrypted_pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt="s3cret")
    c.drawString(72, 720, "Confidential HREiR submission text.")
    c.showPage()
    c.save()
    return path


def image_only_pdf(path: Path) -> Path:
    from PIL import Image, ImageDraw
    from reportlab.pdfgen import canvas

    img_path = path.with_suffix(".png")
    img = Image.new("RGB", (600, 300), "white")
    ImageDraw.Draw(img).text((20, 20), "A scanned page of text", fill="black")
    img.save(img_path)
    c = canvas.Canvas(str(path))
    c.drawImage(str(img_path), 72, 400, width=400, height=200)
    c.showPage()
    c.save()
    return path


def blank_pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.showPage()
    c.save()
    return path
