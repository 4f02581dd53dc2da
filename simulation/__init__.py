"""Throughput simulation of the export chain (SimPy) with statistics planners can trust.

    >>> from simulation.scenario import load_scenario
    >>> from simulation.runner import simulate
    >>> report, results = simulate(load_scenario("baseline"), replications=4)   # doctest: +SKIP
    >>> report["kpis"]["lead_time_days"]["ci95"]                                 # doctest: +SKIP

Modules: ``scenario`` (pydantic YAML schema, network variant), ``routing`` (quote-engine routes,
cached), ``stations`` (monitored stations, levels, named random streams), ``chain`` (the model),
``kpis`` (per-replication KPIs, Student-t CIs), ``compare`` (paired differences), ``runner``
(process pool / Dask), ``plots``, ``replay`` (MQTT), ``verify`` (queueing-theory oracles).
"""
