"""Video room provisioning: a multi-use ticket URL for the appointment's room."""

from __future__ import annotations

import secrets

from temporalio import activity

from domain.activity_names import PROVISION_ROOM
from domain.model import ROOM_TYPE, RoomAccess, RoomRequest


class RoomActivities:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")

    @activity.defn(name=PROVISION_ROOM)
    async def provision(self, request: RoomRequest) -> RoomAccess:
        # An unguessable ticket: holding the URL is what grants entry to the room.
        ticket = secrets.token_urlsafe(12)
        base_url = (request.base_url or self._base_url).rstrip("/")
        return RoomAccess(url=f"{base_url}/q/{ticket}", type=ROOM_TYPE, expires=request.expires)
