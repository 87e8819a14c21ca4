"""Names by which the workflow calls its activities, so that workflow code need not import
the activity implementations (and their database and network libraries)."""

# The current workflow (workflows.appointment): the appointment by id and version.
RECORD_CHANGE = "record_change"
SEND_MESSAGE = "send_message"
POST_WEBHOOK = "post_webhook"
PROVISION_ROOM = "provision_room"

# Runs started before the bounded state (workflows.legacy): whole appointments in their inputs.
PROJECT_APPOINTMENT = "project_appointment"
SEND_NOTIFICATION = "send_notification"
MATCH_WEBHOOKS = "match_webhooks"
DELIVER_WEBHOOK = "deliver_webhook"
