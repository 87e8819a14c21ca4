"""Adding, reading and removing an appointment's participants, and its reassignment."""
