"""The commands and reads the pages and the command line call: cases, events from outside a task, the
council, the scheduler pass, the read side, exports and which process version is live."""
