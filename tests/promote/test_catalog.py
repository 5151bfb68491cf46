"""The plan reads a destination host's catalog once (issue #24): a repository the catalog
does not list is new, so its tags list is read without the first tag's HEAD, and its
list's 404 stands for the HEAD by digest. A listed repository, a refused catalog, or a
name beyond a partial page keeps today's HEADs. Counted by a proxy in front of prod-a,
at plan time (``promoter plan``), so every request is the plan's."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest

from promoter.registry.remote.catalog import PAGE, Catalog, start_after
from tests.promote.project import LABELS, Project, promoter_cli
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image, push_http
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def _calls(proxy: FaultProxy) -> Counter[tuple[str, str]]:
    """(method, path without the query) of every request but the ping."""
    return Counter(
        (e.method, e.path.split("?", 1)[0])
        for e in proxy.exchanges()
        if e.path.rstrip("/") != "/v2"
    )


def _today(name: str, digest: str) -> Counter[tuple[str, str]]:
    """What a new repository costs the plan without the catalog: the first tag's HEAD
    (404), the tags list (404), the HEAD by digest (404)."""
    return Counter(
        {
            ("HEAD", f"/v2/{name}/manifests/1.2.3"): 1,
            ("GET", f"/v2/{name}/tags/list"): 1,
            ("HEAD", f"/v2/{name}/manifests/{digest}"): 1,
        }
    )


def _new(name: str) -> Counter[tuple[str, str]]:
    """What a repository the catalog shows new costs: its tags list, nothing else."""
    return Counter({("GET", f"/v2/{name}/tags/list"): 1})


_CATALOG = Counter({("GET", "/v2/_catalog"): 1})


def _plan(
    registry_factory: Callable[..., Registry],
    tmp_path: Path,
    names: Sequence[str],
    prepare: Callable[[Registry, FaultProxy, dict[str, str]], None] | None = None,
) -> tuple[dict[tuple[str, str], str], Counter[tuple[str, str]], dict[str, str], FaultProxy]:
    """Seed ``names`` in staging, ``prepare`` prod-a, plan, and return the plan's actions
    at prod-a by (repository, tag), its requests there, and the images' digests."""
    staging, prod_a, prod_b = registry_factory(), registry_factory(), registry_factory()
    with FaultProxy(prod_a.host) as proxy:
        project = Project(
            tmp_path / "project", staging, prod_a, prod_b, hosts={"prod-a": proxy.host},
            images=names,
        )  # fmt: skip
        digests = {n: project.seed(n, seed=n, layer_sizes=(2000,)).digest for n in names}
        if prepare is not None:
            prepare(prod_a, proxy, digests)
        proxy.reset_counters()
        done = promoter_cli("plan", "-o", "json", "-f", str(project.file))
        assert done.returncode == 0, done.stderr
        host = proxy.host
    actions = {
        (a["destination"].rsplit("/", 1)[1], a["tag"]): a["action"]
        for image in json.loads(done.stdout)["plan"]["images"]
        for a in image["actions"]
        if a["destination"].startswith(host) and a["action"] != "skipped"  # edge: on main
    }
    return actions, _calls(proxy), digests, proxy


def _blob_into(registry: Registry, repositories: Sequence[str]) -> None:
    """One small blob uploaded to the first repository and mounted into the others:
    each is then in the catalog, with no manifest and no tag."""
    blob = b"a blob of an interrupted copy"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    with httpx.Client(base_url=registry.url, timeout=30) as client:
        first, *others = repositories
        location = client.post(f"/v2/{first}/blobs/uploads/").headers["Location"]
        sep = "&" if "?" in location else "?"
        client.put(f"{location}{sep}digest={digest}", content=blob).raise_for_status()
        for name in others:
            mounted = client.post(f"/v2/{name}/blobs/uploads/?mount={digest}&from={first}")
            assert mounted.status_code == 201, mounted.text


def test_new_repositories_cost_their_tags_lists_and_the_catalog(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = ("web", "api", "worker")
    actions, calls, _, _ = _plan(registry_factory, tmp_path, names)
    # No tag HEAD and no HEAD by digest: the catalog (empty) shows each repository new,
    # one tags list each (404) answers both tags, and says no content is there.
    assert calls == _CATALOG + sum((_new(n) for n in names), Counter()), calls
    assert set(actions.values()) == {"copy"}, actions


def test_a_listed_repository_with_new_tags_gets_todays_heads(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = ("web", "api")
    actions, calls, digests, _ = _plan(
        registry_factory, tmp_path, names, lambda prod, _p, _d: _blob_into(prod, ["web"])
    )
    # web holds a blob (listed), no tag: its first tag's HEAD, its list and the HEAD by
    # digest, as without a catalog; api is new.
    assert calls == _CATALOG + _today("web", digests["web"]) + _new("api"), calls
    assert set(actions.values()) == {"copy"}, actions


def test_an_interrupted_promotion_still_plans_tag(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = ("web", "api")

    def interrupted(prod: Registry, _proxy: FaultProxy, digests: dict[str, str]) -> None:
        # What a promotion killed after its copy leaves: the content, by digest, no tag
        # (see test_interrupted.py); distribution then lists the repository.
        image = make_image(seed="web", user="1000", labels=LABELS, layer_sizes=(2000,))
        assert push_http(image, prod.url, "web") == digests["web"]

    actions, calls, digests, _ = _plan(registry_factory, tmp_path, names, interrupted)
    assert actions[("web", "1.2.3")] == "tag" and actions[("web", "latest")] == "tag", actions
    assert actions[("api", "1.2.3")] == "copy", actions
    assert calls == _CATALOG + _today("web", digests["web"]) + _new("api"), calls


@pytest.mark.parametrize("status", [401, 404, 500])
def test_a_refused_catalog_costs_only_itself(
    registry_factory: Callable[..., Registry], tmp_path: Path, status: int
) -> None:
    names = ("web", "api")

    def refuse(_prod: Registry, proxy: FaultProxy, _d: dict[str, str]) -> None:
        proxy.add(Fault("status", path=r"^/v2/_catalog", status=status, times=None))

    actions, calls, digests, proxy = _plan(registry_factory, tmp_path, names, refuse)
    # The run goes on with today's requests, plus the one refused (not retried).
    today = sum((_today(n, digests[n]) for n in names), Counter())
    assert calls == _CATALOG + today, calls
    assert [e.status for e in proxy.exchanges() if "_catalog" in e.path] == [status]
    assert set(actions.values()) == {"copy"}, actions


def test_names_beyond_a_partial_page_get_todays_heads(
    registry_factory: Callable[..., Registry], tmp_path: Path
) -> None:
    names = ("api", "zed")
    fillers = [f"m{i:04d}" for i in range(PAGE)]  # a full page: m0000 .. m0999, Link

    def fill(prod: Registry, _proxy: FaultProxy, _d: dict[str, str]) -> None:
        _blob_into(prod, fillers)

    actions, calls, digests, proxy = _plan(registry_factory, tmp_path, names, fill)
    # The page (from the first name: "api" and "zed" share no prefix) ends at m0999:
    # api, before it, is new; zed, beyond it, is unknown and asked as today.
    assert calls == _CATALOG + _new("api") + _today("zed", digests["zed"]), calls
    page = next(e for e in proxy.exchanges() if "_catalog" in e.path)
    assert page.path == f"/v2/_catalog?n={PAGE}", page.path
    assert set(actions.values()) == {"copy"}, actions


def test_the_page_starts_just_before_the_plans_names() -> None:
    assert start_after(["fleet/app-00", "fleet/app-19"]) == "fleet/app-"
    assert start_after(["app", "app/x"]) == "ap"  # a proper prefix of each
    assert start_after(["api", "zed"]) == ""
    page = Catalog(frozenset({"app/m0", "app/m9"}), after="app/", through="app/m9")
    assert page.absent("app/a") and page.absent("app/m5")
    assert not page.absent("app/m0")  # listed
    assert not page.absent("app/z")  # beyond the page
    assert not page.absent("ap")  # before where it starts
    # distribution sorts by component ("a/b" before "a-c"), others by string: a name
    # is covered only when both orders put it inside the page
    assert not Catalog(frozenset({"a-c"}), through="a-c").absent("a/b")
    assert not Catalog(frozenset({"a/c"}), through="a/c").absent("a-b")
    assert Catalog(frozenset()).absent("anything")
