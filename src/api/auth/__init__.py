"""JWT bearer authentication and the contract's role guards."""
