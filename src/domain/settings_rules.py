"""What an admin may save as an application's settings: each value checked, naming its field."""

from __future__ import annotations

import msgspec

from domain import rendering, values
from domain.durations import unquote
from domain.email_address import parse_address
from domain.errors import too_large
from domain.limits import MAX_SETTINGS_BYTES, encoded_size
from domain.notifications import ApplicationSettings, Template
from domain.text import check_text


def check_template(template: Template, index: int) -> Template:
    """`template` with its locale in plain form, or a 400 naming `templates[index].<field>`."""
    rendering.validate_template(template, index)
    if template.locale is None:
        return template
    return msgspec.structs.replace(
        template, locale=values.parse_locale(f"templates[{index}].locale", template.locale)
    )


def check_settings(settings: ApplicationSettings) -> ApplicationSettings:
    """The settings as they are saved: URLs and addresses in plain form, every template checked."""
    check_text(settings)
    checked = msgspec.structs.replace(
        settings,
        room_base_url=values.optional(values.parse_url_base, "roomBaseUrl", settings.room_base_url),
        mail_from=None
        if settings.mail_from is None
        else parse_address("mailFrom", unquote(settings.mail_from)),
        mail_from_name=settings.mail_from_name or None,
        templates=tuple(check_template(t, i) for i, t in enumerate(settings.templates)),
    )
    if encoded_size(checked) > MAX_SETTINGS_BYTES:
        # Every new appointment takes a copy of the settings into its workflow.
        limit = MAX_SETTINGS_BYTES // 1024
        raise too_large("templates", f"templates: the settings would be larger than {limit} KiB")
    return checked
