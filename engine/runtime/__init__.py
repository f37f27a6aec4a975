"""The BPM runtime: SpiffWorkflow behind one seam, the engine clock and timers, the script sandbox and
forms. It imports nothing from the other engine packages, as SpiffWorkflow's `bpmn/` imports nothing
built on it."""
