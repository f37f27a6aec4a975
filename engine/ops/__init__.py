"""Operations beside the cases: in-app notices and their mail outbox, incidents, scheduler leases."""
