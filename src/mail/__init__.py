"""Outgoing email over SMTP (aiosmtplib), shared by the API and the activities."""
