"""`/api/applications/{applicationId}/webhooks`: signed webhook subscriptions of an application.

Only an admin of that very application sees or changes them; another application's
subscriptions are reported as absent (404), never as forbidden. The secret is written,
never read back.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.guards import requires
from api.idempotency import Idempotency, IdempotencyKey
from api.schemas import CreateWebhookRequest, WebhookView
from config import Settings
from domain import webhook_rules
from domain.access import Principal, Role
from domain.durations import unquote
from domain.errors import conflict, invalid, not_found, shown
from domain.webhooks import DeliveryAttempt, Webhook
from outbound.webhook_urls import check_webhook_url
from storage.webhooks import TooManyWebhooks, WebhookStore

PrincipalRequest = Request[Principal, str, object]

MAX_WEBHOOKS_PER_APPLICATION = 20
# What a header's value reads as in every answer.
REDACTED = "********"
DEFAULT_DELIVERIES = 50
MAX_DELIVERIES = 500


def _own_application(principal: Principal, application_id: str) -> str:
    if application_id != principal.application_id:
        raise not_found("application not found")
    return application_id


def _view(webhook: Webhook) -> WebhookView:
    return WebhookView(
        id=webhook.id,
        url=webhook.url,
        events=list(webhook.events),
        # Header values are often credentials of the receiver: written, never read back.
        headers=dict.fromkeys(webhook.headers, REDACTED),
        enabled=webhook.enabled,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
    )


def _limit(raw: str | None) -> int:
    text = unquote(raw or "")
    if not text:
        return DEFAULT_DELIVERIES
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or int(text) < 1:
        raise invalid("limit", f"limit: {shown(raw)} is not a whole number of at least 1")
    return min(int(text), MAX_DELIVERIES)


class WebhookController(Controller):
    path = "/api/applications/{application_id:str}/webhooks"
    tags = ["Webhooks"]
    opt = requires(Role.ADMIN)

    @post(
        "/",
        summary="Subscribe to appointment events",
        description=(
            "Every matching appointment change is POSTed to `url` as JSON, signed with `secret` in "
            "`X-Webhook-Signature` (see docs/webhooks.md). `events` are event type names, or `*` for "
            "all. URLs whose host resolves to a loopback, private or link-local address are refused "
            f"unless the operator allows them. At most {MAX_WEBHOOKS_PER_APPLICATION} per application."
        ),
    )
    async def create_webhook(
        self,
        application_id: FromPath[str],
        data: JSONBody[CreateWebhookRequest],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
        config: NamedDependency[Settings],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> WebhookView:
        application_id = _own_application(request.user, application_id)
        events = webhook_rules.check_events(data.events)
        secret = webhook_rules.check_secret(data.secret)
        headers = webhook_rules.check_headers(data.headers)
        url = await check_webhook_url(
            data.url,
            allow_private=config.webhooks_allow_private,
            allow_loopback=config.webhooks_allow_loopback,
        )
        try:
            created = await webhooks.create(
                application_id,
                url,
                events,
                secret,
                headers,
                max_per_application=MAX_WEBHOOKS_PER_APPLICATION,
                webhook_id=await idempotency.resource_id(idempotency_key, f"webhook\0{application_id}", data),
            )
        except TooManyWebhooks as exc:
            raise conflict(str(exc)) from None
        return _view(created)

    @get("/", summary="List an application's webhook subscriptions")
    async def list_webhooks(
        self,
        application_id: FromPath[str],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> list[WebhookView]:
        application_id = _own_application(request.user, application_id)
        return [_view(w) for w in await webhooks.list(application_id)]

    @get("/{webhook_id:str}", summary="Get a webhook subscription")
    async def get_webhook(
        self,
        application_id: FromPath[str],
        webhook_id: FromPath[str],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> WebhookView:
        application_id = _own_application(request.user, application_id)
        found = await webhooks.get(application_id, webhook_id)
        if found is None:
            raise not_found("webhook not found")
        return _view(found)

    @delete(
        "/{webhook_id:str}",
        summary="Delete a webhook subscription",
        description="Deliveries not yet made are dropped; its delivery log goes with it.",
    )
    async def delete_webhook(
        self,
        application_id: FromPath[str],
        webhook_id: FromPath[str],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> None:
        application_id = _own_application(request.user, application_id)
        if not await webhooks.delete(application_id, webhook_id):
            raise not_found("webhook not found")

    @get(
        "/{webhook_id:str}/deliveries",
        summary="Recent delivery attempts of a webhook subscription, newest first",
    )
    async def list_deliveries(
        self,
        application_id: FromPath[str],
        webhook_id: FromPath[str],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
        limit: Annotated[
            str | None,
            QueryParameter(
                description=f"At most this many ({DEFAULT_DELIVERIES} by default, ≤ {MAX_DELIVERIES})"
            ),
        ] = None,
    ) -> list[DeliveryAttempt]:
        application_id = _own_application(request.user, application_id)
        count = _limit(limit)
        if await webhooks.get(application_id, webhook_id) is None:
            raise not_found("webhook not found")
        return await webhooks.deliveries(application_id, webhook_id, limit=count)
