"""Feed adapters (pure: bytes in, observations out) and the runner that drives them."""
