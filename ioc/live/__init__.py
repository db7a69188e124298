"""The live side of an API process: the /ws/live protocol, subscriptions and fan-out."""
