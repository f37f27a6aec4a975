"""The case file under the Act: its tables, the writers a user task's `record` property names, and the
governance tables (councils, the secrecy pledge)."""
