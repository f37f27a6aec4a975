"""Setting up and administering a municipality: its code, staff accounts, bodies and councils, the
action catalogue, security settings and the pledge text."""
