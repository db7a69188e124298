"""Hanoi Intelligent Operations Centre: the service (API, WebSocket hub, storage, writer)."""
