"""Situations: rules over live observations and measures, raised as managed incidents."""
