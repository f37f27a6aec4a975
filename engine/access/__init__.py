"""Who may see and do what: the access policy and permission checks, sign-in and its second factor,
passwords and recovery codes, and reading the audit trail."""
