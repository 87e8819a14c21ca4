"""An application's email service: its verification and test emails."""
