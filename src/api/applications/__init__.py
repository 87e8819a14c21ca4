"""An application's settings, as its admin configures them."""
