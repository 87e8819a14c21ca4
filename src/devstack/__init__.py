"""The embedded development stack behind `make run`, and the real servers the tests start.

Submodules are imported on demand (`devstack.postgres`, `devstack.temporal`, `devstack.smtp_sink`):
each pulls in its own wheel, and production code never imports this package.
"""
