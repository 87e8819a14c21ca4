"""`appointments`: one command line for running and operating the service (see README)."""
