"""Stored history: KPI roll-ups, their maintenance and retention, series, replay and export."""
