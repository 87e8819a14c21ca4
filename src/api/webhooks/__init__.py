"""An application's signed webhook subscriptions and their delivery log."""
