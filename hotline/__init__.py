"""Core of the 12345 hotline service: settings, composition roots, command line."""
