"""The file helpers: names, sizes and the allow-list."""

from __future__ import annotations

import pytest

from clientdesk.resources import files


@pytest.mark.parametrize(
    ("name", "extension"),
    [("a.PDF", ".pdf"), ("kit.tar.gz", ".gz"), ("noext", ""), (".hidden", ""), ("a.b.zip", ".zip")],
)
def test_extension_of(name: str, extension: str) -> None:
    assert files.extension_of(name) == extension


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (12, "12 bytes"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (5 * 1024 * 1024, "5 MB"),
        (3 * 1024**3, "3 GB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert files.human_size(size) == text


def test_storage_names_are_unique() -> None:
    assert files.storage_name("a.pdf") != files.storage_name("a.pdf")


def test_a_path_in_the_uploaded_name_is_dropped() -> None:
    class Upload:
        name = "../../etc/passwd.txt"
        size = 5

        def seek(self, offset: int, whence: int = 0) -> int:
            return 0

        def read(self, size: int = -1) -> bytes:
            return b"hello"

    name, kind = files.check(Upload())  # type: ignore[arg-type]
    assert name == "passwd.txt"
    assert kind.content_type.startswith("text/plain")
