"""Test doubles: stand-ins for parts that need resources the test machine may lack."""
