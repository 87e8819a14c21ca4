"""Sends an appointment's notification emails, each at most once per recipient."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.metrics import count_email, reminder_sent
from domain.activity_io import MessageRequest
from domain.activity_names import SEND_MESSAGE, SEND_NOTIFICATION
from domain.keys import ServiceKeys
from domain.model import Appointment, ParticipantType
from domain.notifications import DeliveryResult, Message, Notification, NotificationType
from mail.compose import compose, message_id
from mail.sender import MailDeliveryError, SmtpSender
from storage.appointments import AppointmentStore
from storage.notification_log import DeliveryStatus, NotificationLog


class NotificationActivities:
    """A message that can never be composed or sent is recorded as failed at once and the send
    returns: only a server that may take it later (down, or answering 4xx) makes Temporal retry,
    so that one bad message never holds back the appointment's later ones."""

    def __init__(
        self,
        sender: SmtpSender,
        log: NotificationLog,
        public_base_url: str,
        keys: ServiceKeys,
        store: AppointmentStore,
    ) -> None:
        self._sender = sender
        self._log = log
        self._public_base_url = public_base_url
        self._keys = keys
        self._store = store

    @activity.defn(name=SEND_MESSAGE)
    async def send_message(self, request: MessageRequest) -> DeliveryResult:
        """The message, about the appointment as the read model has it (at its version or later)."""
        appointment = await self._store.get(request.appointment_id)
        if appointment is None or appointment.version < request.message.version:
            # Recorded right after the change: the read model is about to have it.
            raise ApplicationError(f"the read model has not reached version {request.message.version} yet")
        async with heartbeating():
            return await self._send(request.message, appointment)

    @activity.defn(name=SEND_NOTIFICATION)
    async def send(self, notification: Notification) -> DeliveryResult:
        """A legacy run's message, with the appointment it is about."""
        async with heartbeating():
            return await self._send(notification, notification.appointment)

    async def _send(self, notification: Message, appointment: Appointment) -> DeliveryResult:
        recipients = [
            p
            for p in appointment.participants
            if p.type is ParticipantType.CUSTOMER and p.contact is not None and p.contact.primary_email
        ]
        sent = already = 0
        errors: list[str] = []
        for recipient in recipients:
            assert recipient.contact is not None and recipient.contact.primary_email is not None
            delivery_key = f"{notification.key}:{recipient.id}"
            # A retry (or a worker that died after the SMTP server accepted) finds it recorded.
            if await self._log.status(delivery_key) is not None:
                already += 1
                continue
            status, error = DeliveryStatus.SENT, None
            try:
                message = compose(
                    notification.type,
                    notification.template,
                    appointment,
                    recipient,
                    to=recipient.contact.primary_email,
                    sender=notification.mail_from or self._sender.sender,
                    public_base_url=self._public_base_url,
                    keys=self._keys,
                    delivery_key=delivery_key,
                )
            except (ValueError, TypeError) as exc:
                status, error = DeliveryStatus.FAILED, f"message cannot be composed: {exc}"
                count_email("unsendable")
            else:
                try:
                    await self._sender.send(message)
                except MailDeliveryError as exc:
                    if not exc.permanent:
                        count_email("deferred")
                        raise  # retried by Temporal with backoff
                    status, error = DeliveryStatus.REJECTED, str(exc)
                    count_email("refused")
                else:
                    count_email("sent")
            if error is not None:
                errors.append(error)
                activity.logger.warning("%s not sent to %s: %s", notification.key, recipient.id, error)
            await self._log.record(
                delivery_key,
                appointment_id=appointment.id,
                type=notification.type.value,
                recipient=recipient.id,
                status=status,
                message_id=message_id(delivery_key),
                error=error,
            )
            sent += status is DeliveryStatus.SENT
        # Reached only once no recipient is left to retry: a reminder counts once, when its last
        # recipient got it. `due` is the planned time the message carries, not when the timer fired
        # or the activity was scheduled, so a backlog of workflow tasks counts as lateness too.
        if sent and notification.type is NotificationType.REMINDER and notification.due is not None:
            reminder_sent(notification.due, datetime.now(UTC))
        outcome = "REJECTED" if errors else "SENT" if sent else "ALREADY_SENT" if already else "NO_RECIPIENTS"
        return DeliveryResult(
            key=notification.key, recipients=len(recipients), outcome=outcome, error="; ".join(errors) or None
        )
