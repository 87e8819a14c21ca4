"""Email fields hold one plain address; one mailbox is one mailbox however it is spelled."""

from __future__ import annotations

import pytest

from domain.email_address import mailbox, parse_address
from domain.errors import DomainError
from domain.notifications import ApplicationSettings, may_send_as


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM\t", "ada@example.com"),
        ("o'brien+tag@mail.example.co.uk", "o'brien+tag@mail.example.co.uk"),
        ("a@xn--bcher-kva.example", "a@xn--bcher-kva.example"),
    ],
)
def test_plain_addresses_are_accepted_lower_cased(raw: str, expected: str) -> None:
    assert parse_address("email", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "Ada <ada@example.com>",  # display name
        "ada@example.com, bob@example.com",  # a list
        "ada@example.com;bob@example.com",
        "ada(comment)@example.com",  # comment
        '"ada smith"@example.com',  # quoted local part
        '"a@b"@example.com',
        "ada@[192.0.2.1]",  # IP literal
        "ada@localhost",  # no dot
        "ada@example",
        "ada@example.c",
        "ada..x@example.com",
        ".ada@example.com",
        "ada@-example.com",
        "ada@example.com.",
        "ädä@example.com",  # not ASCII
        "ada@exämple.com",
        "ada@example.com\r\nBcc: x@example.com",
        "ada\u2028@example.com",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 250 + ".com",
        "",
        "@example.com",
        "ada@",
    ],
)
def test_everything_but_one_plain_address_is_refused(raw: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_address("toEmail", raw)
    assert caught.value.field == "toEmail"


@pytest.mark.parametrize(
    "spelling",
    [
        "ada.lovelace@gmail.com",
        "AdaLovelace@Gmail.com",
        "ada.love.lace+otp@gmail.com",
        "adalovelace+1@googlemail.com",
        " adalovelace@GMAIL.COM ",
    ],
)
def test_spellings_of_one_gmail_mailbox_are_one_mailbox(spelling: str) -> None:
    assert mailbox(parse_address("email", spelling)) == "adalovelace@gmail.com"


def test_sub_addresses_count_as_their_mailbox_elsewhere_too() -> None:
    assert mailbox(parse_address("email", "Ada+x@Example.com")) == "ada@example.com"
    # Dots matter outside Gmail.
    assert mailbox(parse_address("email", "a.da@example.com")) == "a.da@example.com"


def test_an_application_sends_only_as_its_verified_domain() -> None:
    settings = ApplicationSettings(mail_from="support@example.test", mail_from_name='Acme "Support", Inc.')
    assert may_send_as("support@example.test", "admin@example.test")
    assert not may_send_as("support@example.test", None)
    assert not may_send_as("support@example.test", "admin@other.test")
    assert settings.sender(None) is None
    assert settings.sender("admin@other.test") is None
    # The display name is encoded by the email package: quotes and commas cannot make a second address.
    assert settings.sender("admin@example.test") == '"Acme \\"Support\\", Inc." <support@example.test>'
    assert (
        ApplicationSettings(mail_from="support@example.test").sender("x@example.test")
        == "support@example.test"
    )
