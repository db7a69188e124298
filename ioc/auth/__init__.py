"""Identity: roles, signed tokens, password hashes, users and feed API keys."""
