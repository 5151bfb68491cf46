"""The build stage as ``promoter build`` and ``promoter run`` both run it.

Per image: the tag stage's staging tags and labels, kaniko's builds (build
arguments expanded by the tag engine's templates), then, unless asked not to,
the push to staging by digest and the index of its platforms.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from promoter import __version__
from promoter.build.attest import AttachFunction, attest_image
from promoter.build.from_config import specs_from_image
from promoter.build.provenance_facts import RunFacts
from promoter.build.push import StagingPusher, build_credentials
from promoter.build.report import BuildReport, ImageBuild
from promoter.build.spec import BuildSpec
from promoter.build.stage import BuildLog, ImageMetadata, build_stage, render_build_arg
from promoter.ci.service import detect_service
from promoter.config import Image, Pipeline, load_pipeline
from promoter.environment import snapshot
from promoter.pipeline.planning import Built
from promoter.pipeline.settings import (
    BuildRequest,
    ci_run_url,
    registry_hosts,
    registry_options,
    run_environ,
)
from promoter.redaction import secrets
from promoter.registry.access.options import RegistryOptions
from promoter.registry.remote.pool import Registries
from promoter.signing.configured import load_signing_key
from promoter.signing.keys import SigningKey
from promoter.signing.provenance import SourceFacts, builder_id
from promoter.structs import field, struct
from promoter.tagging import expand_template
from promoter.tagging.stage import TagsReport, image_metadata, pipeline_tags

__all__ = [
    "BuildSettings",
    "SilentBuildLog",
    "build_images",
    "build_pipeline",
    "staged_digests",
]


@struct(frozen=True)
class BuildSettings:
    """How the builds run: the run's registry options, the log, push or not, keep tarballs."""

    options: RegistryOptions
    log: BuildLog
    push: bool = True
    #: Leave the tarballs on disk (``promoter build --no-push``); else they are removed.
    keep_tarballs: bool = False
    insecure_registries: tuple[str, ...] = ()
    #: Attach SLSA provenance to every image pushed to staging.
    provenance: bool = True
    #: The signing key (None: the pipeline's ``signing:`` key, else the provenance is unsigned).
    signing_key: SigningKey | None = field(default=None, compare=False)
    #: The environment the CI's builder and run are read from (None: this process's).
    env: Mapping[str, str] | None = field(default=None, compare=False)
    #: How an attestation is attached (None: promoter.signing.attach's tag form and referrer).
    attach: AttachFunction | None = field(default=None, compare=False)


class SilentBuildLog:
    """A build log that keeps nothing (the CLI passes one that prints)."""

    def begin(self, title: str) -> None:
        """A build starts."""

    def line(self, text: str) -> None:
        """One line of kaniko's output."""

    def end(self) -> None:
        """The build ended."""


def build_pipeline(request: BuildRequest) -> BuildReport:
    """``promoter build``: tag, build and (unless ``request.push`` is off) push the images."""
    env = run_environ(request.env, request.settings)
    now = request.now or datetime.now(timezone.utc)
    pipeline = load_pipeline(request.pipeline_file)
    tags = pipeline_tags(pipeline, request.images, env=env, now=now)
    if request.warn is not None:
        for warning in (*(w.located() for w in pipeline.warnings), *tags.warnings):
            request.warn(warning)
    options = registry_options(
        registry_hosts(pipeline), request.insecure_registries, request.ca_file, request.settings
    )
    settings = BuildSettings(
        options,
        request.log or SilentBuildLog(),
        push=request.push,
        keep_tarballs=not request.push,
        insecure_registries=request.insecure_registries,
        env=env,
    )
    return build_images(pipeline, tags, now, settings)


def build_images(
    pipeline: Pipeline, tags: TagsReport, now: datetime, settings: BuildSettings
) -> BuildReport:
    """Build the images ``tags`` names, each under its tags and labels; push them when asked.

    Each image pushed to staging then gets its SLSA provenance attached to its
    digests (signed when the pipeline has a signing key), unless
    ``settings.provenance`` is off.
    """
    metadata = _build_metadata(pipeline, tags, now)
    images = [pipeline.image(entry.image) for entry in tags.images]
    output_root = Path(tempfile.mkdtemp(prefix="promoter-build-"))
    with contextlib.ExitStack() as cleanup:
        if not settings.keep_tarballs:
            cleanup.callback(shutil.rmtree, output_root, ignore_errors=True)
        staging = [(i.staging.host, i.staging.repository) for i in pipeline.images.values()]
        pusher = StagingPusher(settings.options, staging) if settings.push else None
        push = cleanup.enter_context(pusher) if pusher is not None else None
        attesting = push is not None and settings.provenance
        key = settings.signing_key
        if attesting and key is None and pipeline.signing is not None:
            # Before any build: a missing key or a wrong password costs no build time.
            key = load_signing_key(pipeline.signing, settings.env)
        registries = cleanup.enter_context(Registries(settings.options)) if attesting else None
        run = _run_facts(tags, settings) if attesting else None
        # Every image's builds are known before the first runs: an unset {env: VARIABLE}
        # of the last image stops the run before the first is built.
        specs = {image.name: _specs(pipeline, image, metadata, settings) for image in images}
        built: list[ImageBuild] = []
        for image in images:
            started = datetime.now(timezone.utc)
            one = build_stage(
                pipeline,
                [image],
                metadata,
                output_root=output_root,
                log=settings.log,
                push=push,
                stitch=push.stitch if push is not None else None,
                credentials=build_credentials(settings.options),
                insecure_registries=settings.insecure_registries,
                env=settings.env,
            ).images[0]
            if registries is not None and run is not None:
                one = attest_image(
                    pipeline,
                    image,
                    one,
                    specs[image.name],
                    run,
                    registries=registries,
                    key=key,
                    started=started,
                    finished=datetime.now(timezone.utc),
                    attach=settings.attach,
                )
            built.append(one)
        return BuildReport(str(pipeline.file), tuple(built))


def _specs(
    pipeline: Pipeline, image: Image, metadata: Mapping[str, ImageMetadata], settings: BuildSettings
) -> list[BuildSpec]:
    """The specs the build stage ran for ``image`` (the same call, the same answer)."""
    meta = metadata.get(image.name, ImageMetadata())
    return specs_from_image(
        pipeline,
        image,
        tags=meta.tag_names,
        labels=meta.labels,
        render=partial(render_build_arg, metadata=meta),
        insecure_registries=settings.insecure_registries,
        env=settings.env,
    )


def _run_facts(tags: TagsReport, settings: BuildSettings) -> RunFacts:
    """The source, the CI's builder and run, the secrets to withhold: one per run."""
    env = snapshot() if settings.env is None else settings.env
    context, repository = tags.context, tags.repository
    source = SourceFacts(repository.html_url, context.sha, context.ref) if context.sha else None
    try:
        service = detect_service(env)
    except ValueError:
        service = "none"
    return RunFacts(
        source=source,
        builder_id=builder_id(service, env),
        invocation_id=ci_run_url(env),
        builder_version={"promoter": __version__},
        secret_values=tuple(secrets()),
    )


def staged_digests(report: BuildReport) -> dict[str, Built]:
    """The digest each image has in staging after the build: its index, or its one build."""
    out: dict[str, Built] = {}
    for image in report.images:
        staged = image.staged
        if staged is not None:
            out[image.image] = Built(staged.digest, staged.tags[0] if staged.tags else None)
    return out


def _build_metadata(
    pipeline: Pipeline, tags: TagsReport, now: datetime
) -> Mapping[str, ImageMetadata]:
    """Per image: the tag stage's names and labels, and the tag engine's template expansion."""
    context, repository = tags.context, tags.repository
    known = {"sha": context.sha, "branch": context.branch, "tag": context.tag, "ref": context.ref}
    variables = {name: str(value) for name, value in known.items() if value}
    metadata: dict[str, ImageMetadata] = {}
    for entry in tags.images:
        computed = image_metadata(pipeline.image(entry.image), context, repository, now=now)
        metadata[entry.image] = ImageMetadata(
            version=entry.version,
            tag_names=entry.tag_names,
            labels=dict(entry.labels),
            variables=variables,
            render=partial(
                expand_template,
                metadata=computed,
                context=context,
                repository=repository,
                now=now,
            ),
        )
    return metadata
