"""Batch plans against real capacities: shipments and candidates -> problem (data) -> solve -> plan.

Each module imports only those listed above it (no circles; ``lint-imports`` checks):

- ``problem``: the plan problem as data (items, choices, resources, box pools) and ``evaluate``; no solver.
- ``model``: the problem as a HiGHS MIP (MathOpt) and its LP relaxation.
- ``greedy``: the greedy baseline, LP rounding and the pool local search.
- ``cuts``: residual-capacity cuts on the pools, added to a built model.
- ``branch_and_bound``: HiGHS branch-and-bound from a hint, and the result record of a solve.
- ``lns``: large-neighbourhood search (sub-problems solved by branch-and-bound).
- ``child``: the environment of the helper processes (``bound``, ``candidates_parallel``).
- ``bound``: HiGHS's root cut loop in a child process, for a stronger bound on large plans.
- ``solve``: ``solve_mip(problem, SolveParams(...))``, the phases within the time limit.
- ``shipments`` / ``candidates`` (``candidates_parallel``): the CSV rows and their candidate options on the network.
- ``planner``: shipments -> problem -> solve -> the plan and its report; ``replan``: after a change.
- ``native_output``: keeps HiGHS's native printing off standard output.
"""
