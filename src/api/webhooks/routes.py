"""`/api/applications/{applicationId}/webhooks`: signed webhook subscriptions of an application.

Only an admin of that very application sees or changes them; another application's
subscriptions are reported as absent (404), never as forbidden. The secret is written,
never read back.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.auth.guards import PrincipalRequest, own_application, requires
from api.idempotency import Idempotency, IdempotencyKey
from api.parameters import INTEGER, parameter, query
from api.webhooks.schemas import CreateWebhookRequest
from config import Settings
from domain import values, webhook_rules
from domain.access import NamedBy, Role
from domain.errors import conflict, not_found
from domain.views import WebhookResponse
from domain.webhooks import DeliveryAttempt
from outbound.webhook_urls import check_webhook_url
from storage.webhooks import TooManyWebhooks, WebhookStore

MAX_WEBHOOKS_PER_APPLICATION = 20
DEFAULT_DELIVERIES = 50
MAX_DELIVERIES = 500


WebhookId = Annotated[str, parameter("The subscription's id", type="string")]
DeliveriesLimit = Annotated[
    str | None,
    query(
        "limit",
        f"At most this many ({DEFAULT_DELIVERIES} by default, ≤ {MAX_DELIVERIES})",
        minimum=1,
        **INTEGER,
    ),
]


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_DELIVERIES
    return min(values.parse_whole_number("limit", raw, 1), MAX_DELIVERIES)


class WebhookController(Controller):
    path = "/api/applications/{applicationId:str}/webhooks"
    tags = ["Webhooks"]
    opt = {**requires(Role.ADMIN), **own_application(NamedBy.PATH)}

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
        data: JSONBody[CreateWebhookRequest],
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
        config: NamedDependency[Settings],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> WebhookResponse:
        application_id = request.user.application_id
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
        return WebhookResponse.of(created)

    @get("/", summary="List an application's webhook subscriptions")
    async def list_webhooks(
        self,
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> list[WebhookResponse]:
        return [WebhookResponse.of(w) for w in await webhooks.list(request.user.application_id)]

    @get("/{webhookId:str}", summary="Get a webhook subscription")
    async def get_webhook(
        self,
        webhookId: WebhookId,
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> WebhookResponse:
        found = await webhooks.get(request.user.application_id, webhookId)
        if found is None:
            raise not_found("webhook not found")
        return WebhookResponse.of(found)

    @delete(
        "/{webhookId:str}",
        summary="Delete a webhook subscription",
        description="Deliveries not yet made are dropped; its delivery log goes with it.",
    )
    async def delete_webhook(
        self,
        webhookId: WebhookId,
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
    ) -> None:
        if not await webhooks.delete(request.user.application_id, webhookId):
            raise not_found("webhook not found")

    @get(
        "/{webhookId:str}/deliveries",
        summary="Recent delivery attempts of a webhook subscription, newest first",
    )
    async def list_webhook_deliveries(
        self,
        webhookId: WebhookId,
        request: PrincipalRequest,
        webhooks: NamedDependency[WebhookStore],
        limit: DeliveriesLimit = None,
    ) -> list[DeliveryAttempt]:
        count = _limit(limit)
        if await webhooks.get(request.user.application_id, webhookId) is None:
            raise not_found("webhook not found")
        return await webhooks.deliveries(request.user.application_id, webhookId, limit=count)
