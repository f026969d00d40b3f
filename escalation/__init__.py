"""督办: the overdue sweep (late sign-for, late resolution), its idempotency marks, and the
notification outbox the `hotline scheduler` process delivers."""
