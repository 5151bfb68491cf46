"""A promotion through rate-limiting proxies in front of real registries (429 with
Retry-After beyond 20 requests in a second): with ``limits: {requests_per_second: 20}``
in pipeline.yml nothing is refused and the rate stays within the limit; with a
``--max-rps`` above what the registry allows, the refusals are few, each
Retry-After is waited out, and the promotion still completes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.promote.project import Project, head_digest, promoter_cli
from tests.support.rate_limit_proxy import RateLimitProxy
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

IMAGES = ("web", "api", "worker", "jobs")


@contextmanager
def _limited(
    registry_factory: Callable[..., Registry], tmp_path: Path, limits: str | None
) -> Iterator[tuple[Project, list[RateLimitProxy]]]:
    """Four images in staging; every registry behind a 20-a-second proxy."""
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with ExitStack() as stack:
        proxies = [
            stack.enter_context(RateLimitProxy(r.host, limit=20)) for r in (staging, prod_a, prod_b)
        ]
        hosts = dict(zip(("staging", "prod-a", "prod-b"), (p.host for p in proxies), strict=True))
        project = Project(tmp_path / "project", staging, prod_a, prod_b, hosts=hosts, images=IMAGES)
        if limits is not None:
            text = project.file.read_text()
            project.file.write_text(text.replace("insecure: true\n", f"insecure: true\n{limits}"))
        for index, name in enumerate(IMAGES):
            project.seed(name, seed=str(index), layer_sizes=(1000 + index, 2000, 3000))
        yield project, proxies


def _promoted(project: Project) -> None:
    for name in IMAGES:
        staged = head_digest(project.staging, name, "1.2.3")
        for production in (project.prod_a, project.prod_b):
            assert head_digest(production, name, "1.2.3") == staged


def test_a_promotion_within_the_limit_is_never_refused(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    limits = "    limits: {requests_per_second: 20, max_concurrency: 4}\n"
    with _limited(registry_factory, tmp_path, limits) as (project, proxies):
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        _promoted(project)
        for proxy in proxies:
            assert proxy.refused() == []
            assert proxy.peak_rate() <= 20
        # Enough asked of each production that the pace, not the work, set its rate.
        assert all(len(p.requests()) > 40 for p in proxies[1:])


def test_a_limit_above_the_registrys_backs_off_and_completes(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    with _limited(registry_factory, tmp_path, None) as (project, proxies):
        over = [f"--max-rps={p.host}=80" for p in proxies]
        done = promoter_cli("run", "--stage", "check,promote", "-f", str(project.file), *over)
        assert done.returncode == 0, done.stderr
        _promoted(project)
        refused = [len(p.refused()) for p in proxies]
        assert sum(refused) >= 1  # 80 a second was asked, and the registries said no
        for proxy in proxies:
            # Few refusals: the first of an episode halves the rate and holds every worker,
            # so an episode refuses at most the answers already in flight (8 workers, one
            # each). After each hold the rate climbs back towards the 80 a second asked
            # for, so episodes recur through the run (about one per 2 s), but most
            # requests get through: a limiter that did not back off would be refused
            # nearly every request above 20 a second ...
            bursts = proxy.refusal_bursts()
            assert all(count <= 8 for count in bursts), (refused, bursts)
            assert len(proxy.refused()) <= max(8, len(proxy.requests()) // 4), (refused, bursts)
            # ... and nothing is sent until its Retry-After has passed.
            assert proxy.early_after_refusal() == []
