"""Rules for the service's own outbound HTTP: where webhooks may be sent."""
