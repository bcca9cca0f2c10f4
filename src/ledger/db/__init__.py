"""Database plumbing: the embedded server, connection pools and migrations."""
