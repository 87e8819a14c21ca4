"""The payload codec Temporal UI calls to show operators decrypted payloads, and its CORS."""
