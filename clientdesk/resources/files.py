"""Files attached to resources: which kinds are allowed, how big, and where they are kept.

A file is accepted by its extension from an allow-list, and for formats with a signature
its first bytes must match (a ``.pdf`` that is really an HTML page is refused). The type we
serve comes from this table, never from the uploader's browser, and downloads are always
attachments. Files are stored through Django's storage API under a random folder name, so
the stored path is not guessable, and no public URL serves them: the portal's download view
checks the customer's level first.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
NAME_MAX_BYTES = 180  # UTF-8 bytes; file systems allow 255, the download header adds some
FORBIDDEN = set('<>:"/\\|?*')


@dataclass(frozen=True)
class FileKind:
    content_type: str
    signatures: tuple[bytes, ...] = ()  # the file must start with one of these, if given


ZIP = (b"PK\x03\x04", b"PK\x05\x06")
ALLOWED: dict[str, FileKind] = {
    ".pdf": FileKind("application/pdf", (b"%PDF-",)),
    ".zip": FileKind("application/zip", ZIP),
    ".sar": FileKind("application/octet-stream"),  # SAP archive (SAPCAR)
    ".gz": FileKind("application/gzip", (b"\x1f\x8b",)),
    ".tgz": FileKind("application/gzip", (b"\x1f\x8b",)),
    ".txt": FileKind("text/plain; charset=utf-8"),
    ".md": FileKind("text/markdown; charset=utf-8"),
    ".csv": FileKind("text/csv; charset=utf-8"),
    ".png": FileKind("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": FileKind("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": FileKind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ZIP
    ),
    ".xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP),
}


# What interfaces hand over: Django's uploaded file (from a form, a test or the demo seed).
Upload = UploadedFile


def max_bytes() -> int:
    return int(getattr(settings, "CLIENTDESK_RESOURCE_FILE_MAX_BYTES", DEFAULT_MAX_BYTES))


def extension_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".tar.gz"):
        return ".gz"
    dot = lower.rfind(".")
    return lower[dot:] if dot > 0 else ""


def human_size(size: int) -> str:
    """``1.5 MB``, ``820 KB``, ``12 bytes``."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size_in = size / 1024
        if size_in < 1024 or unit == "GB":
            return f"{size_in:.1f} {unit}".replace(".0 ", " ")
        size = int(size_in)
    return f"{size} GB"  # pragma: no cover — the loop returns


def allowed_extensions() -> list[str]:
    return sorted(ALLOWED)


def check(upload: Upload) -> tuple[str, FileKind]:
    """The name customers get and the file's kind, or ``ValueError`` with a message for the
    form. The name keeps spaces and letters of any script (the download header encodes
    them); folders, control and direction characters and the characters file systems refuse
    are dropped, and it is cut to ``NAME_MAX_BYTES`` keeping its extension."""
    name = display_name(upload.name or "")
    kind = ALLOWED.get(extension_of(name))
    if kind is None:
        listed = ", ".join(allowed_extensions())
        raise ValueError(f"This type of file cannot be attached. Allowed: {listed}.")
    if not any(ch.isalnum() for ch in name[: -len(extension_of(name))]):
        raise ValueError("Rename the file: its name needs letters or digits before the type.")
    size = upload.size or 0
    if size == 0:
        raise ValueError("The file is empty.")
    if size > max_bytes():
        raise ValueError(f"The file is {human_size(size)}; the limit is {human_size(max_bytes())}.")
    if kind.signatures:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(sig) for sig in kind.signatures):
            raise ValueError(
                f"The file's content is not a {extension_of(name)} file. Check the file."
            )
    return name, kind


def display_name(raw: str) -> str:
    """``raw`` (as the browser sent it) made safe to show and to send back."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    kept = "".join(
        "_" if ch in FORBIDDEN else ch
        for ch in base
        if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"}
    )
    name = " ".join(kept.split()).strip(" .")
    extension = extension_of(name)
    stem = name[: len(name) - len(extension)] if extension else name
    while stem and len((stem + extension).encode()) > NAME_MAX_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .") + extension


def storage_name(clean_name: str) -> str:
    """``<random>.<ext>`` under ``resources/``: unique, ASCII (any file system takes it), and
    not guessable from the resource. Customers get ``Resource.file_name`` instead."""
    return f"{uuid.uuid4().hex}{extension_of(clean_name)}"


def open_for_reading(field_file: object) -> IO[bytes]:
    """The stored file, opened for a streaming response."""
    field_file.open("rb")  # type: ignore[attr-defined]
    return field_file  # type: ignore[return-value]
