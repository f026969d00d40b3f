"""Notifiers: how the scheduler, the dialer and early warning tell people that something needs them."""
