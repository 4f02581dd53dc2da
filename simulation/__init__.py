"""Throughput simulation of the export chain (SimPy) with statistics planners can trust.

    >>> from simulation.scenario import load_scenario
    >>> from simulation.runner import simulate
    >>> report, results = simulate(load_scenario("baseline"), replications=4)   # doctest: +SKIP
    >>> report["kpis"]["lead_time_days"]["ci95"]                                 # doctest: +SKIP

Modules, each importing only those before it: ``limits`` (every bound of a scenario, a run and a
request, in one place), ``scenario`` (pydantic YAML schema with those bounds, network variant),
``budget`` (the work of a request estimated up front and refused when too large), ``route_choice``
(quote-engine routes, cached), ``stations`` (monitored stations, levels, named random streams),
``records`` (what a run records, by name: finished consignments, deliveries, sampled counters;
histogram edges and modes), ``chain`` (the model: timetables of scheduled runs, borders,
warehouses), ``kpis`` (per-replication KPIs from the records, Student-t CIs), ``compare`` (paired
differences), ``runner`` (process pool / Dask: nothing runs in the caller, workers capped at the
cores, cancellation and ``shutdown()``), ``plots``, ``experiment`` (simulate several scenarios,
then compare: the use case of the CLI and the API), ``replay`` (MQTT). The queueing-theory oracles
that verify the stations are a test fixture (``tests/support/sim_verify.py``).
"""
