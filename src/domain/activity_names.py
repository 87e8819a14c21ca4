"""Names by which the workflow calls its activities, so that workflow code need not import
the activity implementations (and their database and network libraries)."""

PROJECT_APPOINTMENT = "project_appointment"
PROVISION_ROOM = "provision_room"
SEND_NOTIFICATION = "send_notification"
MATCH_WEBHOOKS = "match_webhooks"
DELIVER_WEBHOOK = "deliver_webhook"
