"""First- and last-mile routing (VRPTW with PyVRP) and its instance readers."""
