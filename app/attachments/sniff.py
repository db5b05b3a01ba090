"""What a file is, read from its first bytes, never from the name or type the client sent.

``identify`` names the kind of file (or refuses it): documents, images, office files, archives, plain
text and e-mail messages are accepted; programs and anything a browser would run (HTML, SVG, scripts)
are refused, as is a file whose name claims another kind than its content.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from app.core.exceptions import InvalidInput


@dataclass(frozen=True)
class FileKind:
    content_type: str
    label: str
    extensions: frozenset[str]


def _kind(content_type: str, label: str, *extensions: str) -> FileKind:
    return FileKind(content_type, label, frozenset(extensions))


PDF = _kind("application/pdf", "a PDF document", "pdf")
PNG = _kind("image/png", "a PNG image", "png")
JPEG = _kind("image/jpeg", "a JPEG image", "jpg", "jpeg", "jpe", "jfif")
GIF = _kind("image/gif", "a GIF image", "gif")
WEBP = _kind("image/webp", "a WebP image", "webp")
TIFF = _kind("image/tiff", "a TIFF image", "tif", "tiff")
BMP = _kind("image/bmp", "a BMP image", "bmp")
HEIC = _kind("image/heic", "a HEIC photo", "heic", "heif")
ZIP = _kind("application/zip", "a ZIP archive", "zip")
DOCX = _kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document",
             "docx", "docm", "dotx")
XLSX = _kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Excel workbook",
             "xlsx", "xlsm", "xltx")
PPTX = _kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "a PowerPoint file",
             "pptx", "ppsx")
ODF = _kind("application/vnd.oasis.opendocument", "an OpenDocument file", "odt", "ods", "odp", "odg")
OLE = _kind("application/vnd.ms-office", "a legacy Office file", "doc", "xls", "ppt", "msg", "dot", "xlt")
TEXT = _kind("text/plain", "a text file", "txt", "text", "log", "md", "json", "xml", "ini", "cfg")
CSV = _kind("text/csv", "a CSV file", "csv", "tsv")
EMAIL = _kind("message/rfc822", "an e-mail message", "eml")

ACCEPTED = (PDF, PNG, JPEG, GIF, WEBP, TIFF, BMP, HEIC, ZIP, DOCX, XLSX, PPTX, ODF, OLE, TEXT, CSV, EMAIL)
# Names that say "program" or "page a browser runs"; refused whatever the content turns out to be.
FORBIDDEN_EXTENSIONS = frozenset({
    "exe", "dll", "com", "scr", "msi", "bat", "cmd", "ps1", "vbs", "js", "jar", "sh", "app", "html", "htm",
    "xhtml", "svg", "svgz", "hta", "php",
})
_BINARY_SIGNATURES = (
    (b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"GIF87a", GIF), (b"GIF89a", GIF),
    (b"II*\x00", TIFF), (b"MM\x00*", TIFF), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
)
_PROGRAM_SIGNATURES = (
    (b"MZ", "a Windows program"), (b"\x7fELF", "a Linux program"), (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"), (b"\xca\xfe\xba\xbe", "a macOS or Java program"),
    (b"#!", "a script"),
)
_MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|script|svg|iframe|object|body)\b", re.IGNORECASE)
_MAIL_HEADER = re.compile(rb"^(Received|Return-Path|From|Message-ID|MIME-Version|Subject|Date):", re.IGNORECASE)


def _extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def _zip_kind(data: bytes) -> FileKind:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return ZIP
    if "mimetype" in names:
        return ODF
    for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
        if any(name.startswith(prefix) for name in names):
            return kind
    return ZIP


def _text_kind(data: bytes, extension: str) -> FileKind | None:
    head = data[:65536]
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sample's end is still text.
        if error.start < len(head) - 4:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return None
    if _MAIL_HEADER.match(head) and extension in ("eml", ""):
        return EMAIL
    return CSV if extension in CSV.extensions else TEXT


def sniff(data: bytes, filename: str = "") -> FileKind | str:
    """The kind of *data*, or why it is refused (a sentence fragment such as "a Windows program")."""
    for signature, what in _PROGRAM_SIGNATURES:
        if data.startswith(signature):
            return what
    for signature, kind in _BINARY_SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return HEIC
    if data.startswith(b"BM") and len(data) > 26 and int.from_bytes(data[2:6], "little") == len(data):
        return BMP
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if _MARKUP.search(data[:4096]):
        return "a web page or image with markup (HTML, SVG) that a browser would run"
    kind = _text_kind(data, _extension(filename))
    return kind if kind is not None else "a file of a type that is not recognised"


def identify(filename: str, data: bytes) -> FileKind:
    """The accepted kind of the file *filename* holding *data*; InvalidInput says why it is refused."""
    extension = _extension(filename)
    if extension in FORBIDDEN_EXTENSIONS:
        raise InvalidInput(f"{filename} was refused: .{extension} files are not accepted.", {"files": "Forbidden type"})
    kind = sniff(data, filename)
    if isinstance(kind, str):
        raise InvalidInput(f"{filename} was refused: its content is {kind}.", {"files": "Forbidden type"})
    claimed = next((known for known in ACCEPTED if extension in known.extensions), None)
    # Text is text whatever its extension says it holds (a .json or .log is plain text).
    if claimed is not None and extension not in kind.extensions and not (
            claimed in (TEXT, CSV, EMAIL) and kind in (TEXT, CSV, EMAIL)):
        raise InvalidInput(
            f"{filename} was refused: its name says {claimed.label}, but its content is {kind.label}.",
            {"files": "Content does not match the name"},
        )
    return kind
