"""On GitHub Actions the promotion record names the workflow run; stage lists parse strictly."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from promoter.errors import InputError
from promoter.pipeline import parse_stages, run_pipeline
from promoter.pipeline.settings import ci_run_url
from promoter.promote import PROMOTION_ARTIFACT_TYPE
from tests.promote.project import CLEAN_ENV, Project


def test_ci_run_urls() -> None:
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "example/web",
        "GITHUB_RUN_ID": "42",
    }
    assert ci_run_url(github) == "https://github.com/example/web/actions/runs/42"
    azure = {
        "TF_BUILD": "True",
        "SYSTEM_COLLECTIONURI": "https://dev.azure.com/example/",
        "SYSTEM_TEAMPROJECT": "web",
        "BUILD_BUILDID": "7",
    }
    assert ci_run_url(azure) == "https://dev.azure.com/example/web/_build/results?buildId=7"
    assert ci_run_url({}) is None


def test_stage_lists() -> None:
    assert parse_stages("promote,check") == ("check", "promote")
    assert parse_stages(" build , push ") == ("build", "push")
    for bad in ("", "deploy", "check,,nope"):
        with pytest.raises(InputError):
            parse_stages(bad)


@pytest.mark.registry
def test_record_names_the_github_run(make_project: Callable[..., Project]) -> None:
    project = make_project()
    image = project.seed()
    sha = "1234567890abcdef1234567890abcdef12345678"
    env = {
        **CLEAN_ENV,
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/tags/v1.2.3",
        "GITHUB_SHA": sha,
        "GITHUB_REPOSITORY": "example/web",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
    }
    report = run_pipeline(project.request(env=env))
    assert report.exit_code == 0, report.problem()
    url = project.prod_b.url
    index = httpx.get(
        f"{url}/v2/web/manifests/{image.digest.replace(':', '-')}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    ).json()
    (entry,) = [m for m in index["manifests"] if m.get("artifactType") == PROMOTION_ARTIFACT_TYPE]
    manifest = httpx.get(
        f"{url}/v2/web/manifests/{entry['digest']}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    ).json()
    record = json.loads(httpx.get(f"{url}/v2/web/blobs/{manifest['layers'][0]['digest']}").content)
    assert record["ci"]["runUrl"] == "https://github.com/example/web/actions/runs/4242"
    assert record["git"] == {"commit": sha, "ref": "refs/tags/v1.2.3"}
