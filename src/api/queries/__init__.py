"""Reads over many appointments: the paged list, the public counts, the eligible list."""
