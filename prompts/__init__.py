"""Prompt catalog and offline rendering to 8 kHz files that Asterisk plays."""
