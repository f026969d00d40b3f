"""Who may do what: users and roles, bearer tokens, the units tickets are dispatched to, and the
audit of every read of a caller's personal data."""
