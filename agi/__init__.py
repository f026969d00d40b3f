"""Asterisk protocols only: FastAGI (on pyst2's command layer) and AMI."""
