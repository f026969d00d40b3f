"""What a call says and hears. Flows talk to a Channel protocol and call the domain services."""
