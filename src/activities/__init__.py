"""Activities: every piece of I/O the appointment workflow needs, each class taking its
dependencies in `__init__`."""
