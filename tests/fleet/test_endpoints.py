"""The pure parts of the fleet: choosing a runner, backing off from a dead one, tokens."""

from __future__ import annotations

import pytest

from app.fleet.access import AccessConfigError, bearer_matches, check_service_access, is_loopback
from app.fleet.endpoints import EndpointChooser, RunnerEndpoint, parse_runner_urls

HEALTHY = {
    "level": "full",
    "details": ["ok"],
    "devices": ["cpu"],
    "capacity": 4,
    "queue": 8,
    "limits": {"wall_s": 3.0, "cpu_s": 6},
}


def up(url: str, **health: object) -> RunnerEndpoint:
    endpoint = RunnerEndpoint(url)
    endpoint.mark_up({**HEALTHY, **health}, now=0.0, interval_s=2.0)
    return endpoint


def test_runs_go_to_the_least_loaded_up_runner_in_turn() -> None:
    a, b, c = up("http://a"), up("http://b"), RunnerEndpoint("http://c")
    c.mark_down("cannot connect", now=0.0, interval_s=2.0)
    chooser = EndpointChooser()
    picks = [chooser.choose([a, b, c], "cpu", set()).url for _ in range(4)]  # type: ignore[union-attr]
    assert sorted(picks) == ["http://a", "http://a", "http://b", "http://b"]
    a.outstanding = 3
    assert chooser.choose([a, b, c], "cpu", set()) is b
    assert chooser.choose([a, b, c], "cpu", {"http://b"}) is a  # the retry goes to a different one
    a.outstanding = 4  # its capacity: it gets nothing more from us until a run ends
    assert chooser.choose([a, b, c], "cpu", {"http://b"}) is None
    assert chooser.choose([a, b, c], "cuda", set()) is None
    gpu = up("http://gpu", devices=["cpu", "cuda"])
    assert chooser.choose([a, b, gpu], "cuda", set()) is gpu


def test_a_dead_runner_is_checked_again_sooner_then_at_the_interval() -> None:
    endpoint = RunnerEndpoint("http://a")
    delays = []
    now = 0.0
    for _ in range(6):
        endpoint.mark_down("cannot connect", now=now, interval_s=2.0)
        delays.append(endpoint.next_check_at - now)
        now = endpoint.next_check_at
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    endpoint.mark_up(HEALTHY, now=now, interval_s=2.0)
    assert endpoint.state == "up" and endpoint.failures == 0 and endpoint.next_check_at == now + 2.0
    assert endpoint.limits is not None and endpoint.limits.wall_s == 3.0


def test_a_runner_that_cannot_isolate_code_gets_no_runs() -> None:
    endpoint = up("http://a", level="none", details=["no user namespaces"])
    assert endpoint.state == "down" and "no user namespaces" in endpoint.reason
    assert EndpointChooser().choose([endpoint], "cpu", set()) is None


def test_runner_urls_are_one_url_or_a_list() -> None:
    assert parse_runner_urls("http://runner:8200") == ["http://runner:8200"]
    assert parse_runner_urls(" http://a:1/, http://b:2 ,http://a:1") == ["http://a:1", "http://b:2"]
    for bad in ("", " , ", "runner:8200", "ftp://x"):
        with pytest.raises(ValueError):
            parse_runner_urls(bad)


def test_tokens_are_required_beyond_loopback_and_compared_exactly() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("runner")
    check_service_access("127.0.0.1", None)
    check_service_access("0.0.0.0", "a" * 32)
    with pytest.raises(AccessConfigError):
        check_service_access("0.0.0.0", None)
    with pytest.raises(AccessConfigError):
        check_service_access("0.0.0.0", "short")
    token = "s" * 24
    assert bearer_matches(f"Bearer {token}", token) and bearer_matches(f"bearer {token}", token)
    for header in (None, "", token, f"Basic {token}", f"Bearer {token}x", "Bearer ", f"Bearer {token[:-1]}"):
        assert not bearer_matches(header, token)
    assert bearer_matches(None, None)
