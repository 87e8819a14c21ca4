"""How the service talks to Temporal: one client factory (TLS, API key, namespace) and the
payload codec that keeps personal data out of Temporal in clear."""
