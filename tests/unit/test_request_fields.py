"""The rules requests are held to, as the domain states them: quoted values, the documented
duration pattern against the parser, whole numbers and lists of query parameters, the caller's
own application."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from domain import values
from domain.access import NamedBy, Principal, Role, check_own_application
from domain.durations import parse_duration
from domain.errors import DomainError, ErrorKind
from domain.fields import DURATION_PATTERN, MIN_DURATION_LENGTH
from domain.lifecycle import CustomerDetails
from domain.model import Contact
from domain.notifications import ApplicationSettings, NotificationType, Template
from domain.settings_rules import check_settings


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ('"Product installation review"', "Product installation review"),
        ('  "CRM ref: 3nv"  ', "CRM ref: 3nv"),
        ("Plain title", "Plain title"),
        ('He said "hi" and "bye"', 'He said "hi" and "bye"'),
        ('"unterminated \\', '"unterminated \\'),
        ('"a \\u00e9"', "a é"),
        ('""', ""),
    ],
)
def test_a_quoted_value_is_read_as_the_text_it_quotes(raw: str, read: str) -> None:
    assert values.parse_text("title", raw) == read


def test_an_unquoted_value_is_held_to_the_text_rule_again() -> None:
    with pytest.raises(DomainError) as refused:
        values.parse_text("title", '"a\\nb"')
    assert refused.value.field == "title"
    assert values.parse_text("textBody", '"Dear {{firstName}},\\n\\nSee you"', multiline=True) == (
        "Dear {{firstName}},\n\nSee you"
    )


@pytest.mark.parametrize(
    "text",
    ["P1D", "PT5M", "PT1H30M", "P1W2D", "PT0.5S", "P1DT2H", "PT1H5S", "P2W", "PT90M", "P1DT1H1M1.25S"],
)
def test_every_duration_the_pattern_documents_is_one_the_parser_reads(text: str) -> None:
    assert re.fullmatch(DURATION_PATTERN, text) and len(text) >= MIN_DURATION_LENGTH
    assert parse_duration(text) > timedelta(0)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P1Y", "P1M", "PT1H30", "1D", "PTH", "P-1D"])
def test_the_pattern_refuses_what_the_parser_refuses(text: str) -> None:
    matches = re.fullmatch(DURATION_PATTERN, text) is not None and len(text) >= MIN_DURATION_LENGTH
    assert not matches
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("raw", "value"), [("25", 25), ('"7"', 7), ("-3", -3), ("000012", 12)])
def test_whole_numbers(raw: str, value: int) -> None:
    assert values.parse_whole_number("pageSize", raw) == value


@pytest.mark.parametrize("raw", ["", "1.5", "\u00b2", "\uff11\uff12", "1e3", "9" * 13, "abc", "0x10"])
def test_what_is_not_a_whole_number(raw: str) -> None:
    with pytest.raises(DomainError) as refused:
        values.parse_whole_number("pageSize", raw)
    assert refused.value.field == "pageSize"


def test_a_whole_number_below_its_minimum() -> None:
    with pytest.raises(DomainError, match="at least 1"):
        values.parse_whole_number("limit", "0", 1)


def test_lists_and_ranges_of_query_parameters() -> None:
    assert values.parse_list(["a,b", '"c"', ",", "d"]) == ["a", "b", "c", "d"]
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC)
    assert values.parse_time_range("range", ["2030-01-01T00:00:00Z,2030-01-02T00:00:00Z"]) == (start, end)
    assert values.parse_time_range("range", []) is None
    for raw in (
        ["2030-01-02T00:00:00Z,2030-01-01T00:00:00Z"],
        ["2030-01-01T00:00:00Z"],
        ["", ""],
        ["2030-01-01T00:00:00Z,2030-01-02T00:00:00Z,"],
    ):
        with pytest.raises(DomainError) as refused:
            values.parse_time_range("range", raw)
        assert refused.value.field == "range"


def test_a_typed_list_refuses_an_empty_item_where_a_plain_list_leaves_it_out() -> None:
    assert values.parse_typed_list("duration", ["PT5M,PT1H", '"PT2H"']) == ["PT5M", "PT1H", "PT2H"]
    assert values.parse_typed_list("duration", []) == []
    for raw in ([""], ["PT5M,"], ["PT5M", ""], ['""']):
        with pytest.raises(DomainError) as refused:
            values.parse_typed_list("duration", raw)
        assert refused.value.field == "duration"


PRINCIPAL = Principal(sub="u", roles=frozenset({Role.ADMIN}), application_id="app-1")


def test_the_callers_own_application_however_it_is_named() -> None:
    for named_by in NamedBy:
        check_own_application(PRINCIPAL, named_by, None)
        check_own_application(PRINCIPAL, named_by, "app-1")
        check_own_application(PRINCIPAL, named_by, '"app-1"')


def test_another_application_is_absent_in_a_path_and_forbidden_elsewhere() -> None:
    with pytest.raises(DomainError) as in_path:
        check_own_application(PRINCIPAL, NamedBy.PATH, "app-2")
    assert in_path.value.kind is ErrorKind.NOT_FOUND
    for named_by in (NamedBy.QUERY, NamedBy.BODY):
        with pytest.raises(DomainError) as named:
            check_own_application(PRINCIPAL, named_by, "app-2")
        assert named.value.kind is ErrorKind.FORBIDDEN


@pytest.mark.parametrize("claimed", ["", "a" * 101, "x\t", "x\u2028", "app-1\x00"])
def test_a_malformed_application_id_is_a_400_before_any_refusal(claimed: str) -> None:
    for named_by in NamedBy:
        with pytest.raises(DomainError) as refused:
            check_own_application(PRINCIPAL, named_by, claimed)
        assert (refused.value.kind, refused.value.field) == (ErrorKind.INVALID, "applicationId")


def test_an_error_named_without_its_prefix() -> None:
    error = DomainError(ErrorKind.INVALID, "templates[0].textBody: empty", "templates[0].textBody")
    plain = error.without_prefix("templates[0].")
    assert (plain.field, plain.message, plain.kind) == ("textBody", "textBody: empty", ErrorKind.INVALID)


def test_customer_details_decode_from_a_request_and_check_their_address() -> None:
    details = msgspec.json.decode(
        b'{"contact": {"primaryEmail": "Ada <ada@example.com>"}, "username": "ada"}', type=CustomerDetails
    )
    with pytest.raises(DomainError) as refused:
        details.checked("customer")
    assert refused.value.field == "customer.contact.primaryEmail"
    plain = msgspec.structs.replace(details, contact=Contact(primary_email=" ada@example.com "))
    assert plain.checked("customer").contact == Contact(primary_email="ada@example.com")
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"username": "' + b"u" * 201 + b'"}', type=CustomerDetails)


def test_settings_as_saved() -> None:
    reminder = Template(type=NotificationType.REMINDER, subject="s", text_body="b", period=timedelta(hours=1))
    settings = ApplicationSettings(
        room_base_url='"https://video.example.com/"',
        mail_from='"ops@example.com"',
        mail_from_name="",
        templates=(msgspec.structs.replace(reminder, locale='"en-GB"'),),
    )
    saved = check_settings(settings)
    assert saved.room_base_url == "https://video.example.com"
    assert saved.mail_from == "ops@example.com"
    assert saved.mail_from_name is None
    assert saved.templates[0].locale == "en-GB"
    too_far = msgspec.structs.replace(reminder, period=timedelta(days=31))
    with pytest.raises(DomainError) as refused:
        check_settings(ApplicationSettings(templates=(too_far,)))
    assert refused.value.field == "templates[0].period"
