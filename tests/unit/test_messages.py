from __future__ import annotations

import pytest

from domain import messages


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(600, "10 minutes"), (60, "1 minute"), (90, "90 seconds"), (3600, "60 minutes")],
)
def test_code_lifetime_reads_naturally(seconds: int, words: str) -> None:
    mail = messages.verification_code("a@example.com", "Acme", "123456", seconds)
    assert f"valid for {words} and works once" in mail.text
    assert "123456" in mail.text
    assert "123456" not in mail.subject
