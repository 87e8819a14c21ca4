"""The bodies of the participant writes, named as in the contract."""

from __future__ import annotations

from domain.fields import AppointmentId, Id, Request
from domain.lifecycle import CustomerDetails


class AddParticipantAgentRequest(Request):
    """Also the body of a reassignment."""

    id: AppointmentId
    user_id: Id


class AddParticipantCustomerRequest(Request):
    id: AppointmentId
    customer: CustomerDetails
