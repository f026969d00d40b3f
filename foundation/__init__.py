"""The foundation every other package stands on: settings, the database, typed errors, logging, secrets,
leader locks. It imports no other package of the project."""
