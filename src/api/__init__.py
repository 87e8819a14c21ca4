"""The HTTP API: authenticates, authorises, sends Updates to workflows and reads the read model."""
