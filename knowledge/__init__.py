"""Knowledge base: FAQ answers operators read to callers (policy, office hours, department numbers)."""
