"""The bodies of the participant writes, named as in the contract."""

from __future__ import annotations

from domain.access import Principal
from domain.fields import AppointmentId, Id, Request
from domain.lifecycle import AgentCommand, CustomerDetails


class AddParticipantAgentRequest(Request):
    """Also the body of a reassignment."""

    id: AppointmentId
    user_id: Id

    def to_domain(self, principal: Principal) -> AgentCommand:
        return AgentCommand(actor=principal, user_id=self.user_id)


class AddParticipantCustomerRequest(Request):
    id: AppointmentId
    customer: CustomerDetails
