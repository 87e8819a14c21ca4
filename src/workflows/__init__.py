"""Durable workflows: one `AppointmentWorkflow` per appointment."""
