"""Customers scheduling for themselves with a one-time password mailed to them."""
