"""``promoter history`` on real registries: the chain of records behind a production tag."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from promoter.oci import Descriptor
from tests.promote.project import Project, head_digest, promoter_cli
from tests.promote.releases import history_of, release, roll_back
from tests.support.images import make_image, push_http
from tests.test_json_keys import bad_keys

pytestmark = pytest.mark.registry


def test_three_promotions_then_a_rollback(make_project: Callable[..., Project]) -> None:
    project = make_project(git_tag="")
    a, b, c = (release(project, f"2.0.{n}", f"r{n}") for n in range(3))
    latest = f"{project.prod_a.host}/web:latest"
    found = history_of(project, latest)
    assert found["reference"] == latest
    assert found["digest"] == c.digest
    entries = found["entries"]
    assert [e["digest"] for e in entries] == [c.digest, b.digest, a.digest]
    assert [e["kind"] for e in entries] == ["promotion"] * 3
    assert [e["previous"] for e in entries] == [b.digest, a.digest, None]
    assert all(e["at"] and e["commit"] and e["ref"] for e in entries)
    assert sorted(entries[0]["tags"]) == ["2.0.2", "latest"]
    assert entries[0]["ref"] == "refs/tags/v2.0.2"
    assert entries[0]["checksPassed"] == ["non-root"]
    assert "first promotion" in found["end"]

    # an immutable version tag: one promotion, new at the time
    version = history_of(project, f"{project.prod_b.host}/web:2.0.1")
    assert [(e["digest"], e["previous"]) for e in version["entries"]] == [(b.digest, None)]

    limited = history_of(project, latest, "--limit", "2")
    assert [e["digest"] for e in limited["entries"]] == [c.digest, b.digest]
    assert "--limit" in limited["end"]

    rolled = roll_back(project, "--tag", "latest", "--reason", "a | <b>bad</b> release")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    document = history_of(project, latest)
    assert list(bad_keys(document)) == []
    after = document["entries"]
    assert [(e["digest"], e["kind"]) for e in after] == [
        (b.digest, "rollback"),
        (c.digest, "promotion"),
        (b.digest, "promotion"),
        (a.digest, "promotion"),
    ]
    assert after[0]["reason"] == "a | <b>bad</b> release"
    assert after[0]["skippedChecks"] is False
    assert after[0]["previous"] == c.digest

    text = promoter_cli("history", latest, "-f", str(project.file))
    assert text.returncode == 0, text.stderr
    assert f"- {b.digest}  rollback" in text.stdout
    assert "reason: a | <b>bad</b> release" in text.stdout
    markdown = promoter_cli("history", latest, "-f", str(project.file), "--output", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    rows = [line for line in markdown.stdout.splitlines() if line.startswith("| `sha256:")]
    assert len(rows) == 4
    assert "a \\| &lt;b&gt;bad&lt;/b&gt; release" in rows[0]  # record text is not markup
    assert "<b>" not in markdown.stdout


@pytest.mark.skopeo
def test_a_tag_moved_by_another_tool_ends_the_walk(make_project: Callable[..., Project]) -> None:
    project = make_project(git_tag="")
    a, b = release(project, "2.0.0", "r0"), release(project, "2.0.1", "r1")
    other = make_image(seed="by-hand", user="1000")
    push_http(other, project.staging.url, "web", "hotfix")
    copied = subprocess.run(
        [
            "skopeo",
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{project.staging.host}/web:hotfix",
            f"docker://{project.prod_a.host}/web:latest",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert copied.returncode == 0, copied.stderr
    assert head_digest(project.prod_a, "web", "latest") == other.digest
    c = release(project, "2.0.2", "r2")

    moved = history_of(project, f"{project.prod_a.host}/web:latest")
    entries = moved["entries"]
    assert [(e["digest"], e["kind"]) for e in entries] == [
        (c.digest, "promotion"),
        (other.digest, "missing"),
    ]
    assert entries[0]["previous"] == other.digest
    assert "moved by another tool" in entries[1]["note"]
    assert other.digest in moved["end"] and "stops" in moved["end"]
    # the other production never saw the hand-made step: its chain is whole
    whole = history_of(project, f"{project.prod_b.host}/web:latest")
    assert [e["digest"] for e in whole["entries"]] == [c.digest, b.digest, a.digest]


def test_a_record_without_previous_is_shown_and_ends_the_walk(
    make_project: Callable[..., Project],
) -> None:
    from promoter.oci.reference import parse_registry_reference
    from promoter.promote.record import RecordWriter
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.remote.client import RegistryClient
    from promoter.registry.target import RepositoryTarget
    from promoter.transfer.endpoints import TargetEndpoint

    project = make_project(git_tag="")
    a = release(project, "2.0.0", "r0")
    # a record as promoter wrote them before 'previous' and 'kind' were kept
    old = make_image(seed="old", user="1000")
    push_http(old, project.prod_a.url, "web", "latest")
    options = RegistryOptions(insecure_registries=(project.prod_a.host,))
    with RegistryClient(project.prod_a.host, options) as client:
        target = parse_registry_reference(f"{project.prod_a.host}/web")
        endpoint = TargetEndpoint(RepositoryTarget(client, target))
        subject = Descriptor(old.media_type, old.digest, old.size)
        document = {"digest": old.digest, "tags": ["latest"], "time": "2030-01-01T00:00:00+00:00"}
        RecordWriter().push(endpoint, subject, document, "2030-01-01T00:00:00+00:00")
        # and one too large to be read (a record is at most 256 KiB): skipped and named
        huge = {**document, "kind": "rollback", "reason": "x" * 300_000}
        RecordWriter().push(endpoint, subject, huge, "2030-01-02T00:00:00+00:00")

    found = history_of(project, f"{project.prod_a.host}/web:latest")
    assert [(e["digest"], e["kind"], e["previous"]) for e in found["entries"]] == [
        (old.digest, "promotion", "unknown")
    ]
    assert "predates" in found["end"]
    (skipped,) = found["skippedRecords"]
    assert "not a readable record (its record is 3" in skipped  # ~300 kB: not read
    assert a.digest != old.digest


def test_a_repository_merges_its_tags_histories(make_project: Callable[..., Project]) -> None:
    project = make_project(git_tag="")
    a, b = release(project, "2.0.0", "r0"), release(project, "2.0.1", "r1")
    found = history_of(project, f"{project.prod_a.host}/web")
    entries = found["entries"]
    # one entry per record: each promotion wrote its version tag and latest at once
    assert [e["digest"] for e in entries] == [b.digest, a.digest]
    assert [sorted(e["tags"]) for e in entries] == [["2.0.1", "latest"], ["2.0.0", "latest"]]
    assert "3 tag(s) walked" in found["end"]
    by_digest = promoter_cli(
        "history", f"{project.prod_a.host}/web@{a.digest}", "-f", str(project.file)
    )
    assert by_digest.returncode == 2, by_digest.stderr
    assert "follows a tag" in by_digest.stderr


def test_history_reads_records_through_the_referrers_api(
    make_project: Callable[..., Project],
) -> None:
    """distribution 2.8 has no referrers API: the registry's answer is the same index its
    ``sha256-<hex>`` tag holds, given at ``/referrers/`` (the one part not real), and the
    walk never asks for a fallback tag."""
    import json

    from promoter.oci.reference import parse_registry_reference
    from promoter.promote.history import tag_history
    from promoter.registry.access.options import RegistryOptions
    from promoter.registry.remote.client import RegistryClient
    from tests.promote.project import fallback_index
    from tests.support.fault_transport import FaultTransport, Rule

    project = make_project(git_tag="")
    images = [release(project, f"2.0.{n}", f"r{n}") for n in range(3)]
    index_type = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
    rules = [
        Rule(
            "GET",
            f"/referrers/{image.digest}",
            FaultTransport.answer(
                200,
                json.dumps(fallback_index(project.prod_a.url, image.digest)).encode(),
                index_type,
            ),
            times=5,
        )
        for image in images
    ]
    seam = FaultTransport(rules)
    options = RegistryOptions(transport=seam, insecure_registries=(project.prod_a.host,))
    with RegistryClient(project.prod_a.host, options) as client:
        reference = parse_registry_reference(f"{project.prod_a.host}/web:latest")
        found = tag_history(client, reference, 10)
    assert [e.digest for e in found.entries] == [i.digest for i in reversed(images)]
    assert "first promotion" in found.end
    assert any("/referrers/" in path for _, path, _ in seam.log)
    assert not any("/manifests/sha256-" in path for _, path, _ in seam.log)
