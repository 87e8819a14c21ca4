"""Scheduling an appointment and each change of it: the routes and the contract's request bodies."""
