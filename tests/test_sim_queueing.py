"""Verification of the simulation's stations and statistics against queueing theory."""

from __future__ import annotations

import pytest

from simulation.kpis import t_interval, t_ppf
from tests.support.sim_verify import check_station, erlang_c_wait, pollaczek_khinchine_wait


def test_oracles_closed_forms():
    assert erlang_c_wait(2.4, 1.0, 3) == pytest.approx(1.07865, abs=1e-5)  # reference value (simulation.md §3)
    assert erlang_c_wait(0.8, 1.0, 1) == pytest.approx(4.0)  # M/M/1: rho/(mu - lam)
    assert pollaczek_khinchine_wait(0.8, 1.0, 0.0) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        erlang_c_wait(3.0, 1.0, 3)


def test_student_t_quantiles_match_tables():
    for df, q in ((1, 12.7062), (4, 2.7764), (9, 2.2622), (19, 2.0930), (100, 1.9840)):
        assert t_ppf(0.975, df) == pytest.approx(q, abs=1e-4)
    ci = t_interval([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["ci95"][0] == pytest.approx(2.0 - 4.3027 / 3**0.5, abs=1e-4)
    assert t_interval([5.0])["ci95"] == [None, None]


def test_mmc_station_matches_erlang_c():
    """M/M/3 at rho = 0.8: the Erlang-C mean wait lies inside the 95 % CI, within 8 %."""
    r = check_station(2.4, 1.0, 3, horizon=10_000, warmup=1_000, replications=20)
    lo, hi = r["wq"]["ci95"]
    assert lo <= r["theory"] <= hi, r
    assert abs(r["wq"]["mean"] - r["theory"]) / r["theory"] < 0.08
    assert r["util"]["ci95"][0] - 0.01 <= 0.8 <= r["util"]["ci95"][1] + 0.01
    # Little's law on the station: Lq = lambda * Wq
    assert r["lq"]["mean"] == pytest.approx(r["lambda_wq"], rel=0.02)


def test_md1_station_matches_pollaczek_khinchine():
    r = check_station(0.8, 1.0, 1, horizon=10_000, warmup=1_000, replications=20, deterministic=True)
    lo, hi = r["wq"]["ci95"]
    assert lo <= r["theory"] <= hi, r
    assert abs(r["wq"]["mean"] - r["theory"]) / r["theory"] < 0.1


def test_station_detects_a_wrong_model():
    """The check can fail: an M/M/2 with the same load is far from the M/M/3 Erlang-C value."""
    r = check_station(1.6, 1.0, 2, horizon=5_000, warmup=500, replications=10)
    assert not (r["wq"]["ci95"][0] <= erlang_c_wait(2.4, 1.0, 3) <= r["wq"]["ci95"][1])
