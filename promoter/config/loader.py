"""``load_pipeline``: read, validate and turn pipeline.yml into the typed model.

Order: read defensively (``source``), check the shape (``schema``), check the
meaning (``checks``), then build frozen value classes (``model``, ``@struct``). Any problem
raises one ``ConfigError`` naming FILE:LINE:COL and the key path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promoter.config.model import (
    DEFAULT_PASSWORD_ENV,
    BuildCache,
    BuildConfig,
    EnvBuildArg,
    Executor,
    Image,
    Pipeline,
    PolicyRuleConfig,
    PromoteRule,
    Registry,
    RegistryAuth,
    Repository,
    Retention,
    SigningConfig,
    When,
    frozen_mapping,
)
from promoter.config.problems import KeyPath, raise_problems
from promoter.config.schema import schema_problems
from promoter.config.secretargs import literal_secret_warnings
from promoter.config.semantics import semantic_problems
from promoter.config.source import Document, read_document
from promoter.units import parse_duration

__all__ = ["load_pipeline"]


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.file = Path(doc.file).resolve()
        self.base = self.file.parent
        self.registries: dict[str, Registry] = {}

    def position(self, path: KeyPath) -> dict[str, int]:
        mark = self.doc.key_mark(path)
        return {"line": mark.line, "column": mark.column}

    def registry(self, alias: str, data: Mapping[str, Any]) -> Registry:
        auth = data.get("auth", "docker-config")
        if isinstance(auth, str):
            auth = {"kind": auth}
        config = auth.get("config")
        limits = data.get("limits") or {}
        rate, slots = limits.get("requests_per_second"), limits.get("max_concurrency")
        return Registry(
            alias=alias,
            host=data["host"],
            insecure=bool(data.get("insecure", False)),
            ca_file=self.base / data["ca_file"] if "ca_file" in data else None,
            auth=RegistryAuth(
                kind=auth["kind"],
                username_env=auth.get("username_env"),
                password_env=auth.get("password_env"),
                token_env=auth.get(
                    "token_env", "GITHUB_TOKEN" if auth["kind"] == "github" else None
                ),
                tenant=auth.get("tenant"),
                client_id=auth.get("client_id"),
                config=self.base / config if config else None,
            ),
            **self.position(("registries", alias)),
            requests_per_second=float(rate) if rate is not None else None,
            max_concurrency=int(slots) if slots is not None else None,
        )

    def repository(self, path: KeyPath, value: str) -> Repository:
        alias, _, repository = value.partition("/")
        return Repository(alias, self.registries[alias].host, repository, **self.position(path))

    def build(self, path: KeyPath, data: Mapping[str, Any]) -> BuildConfig:
        context = (self.base / data.get("context", ".")).resolve()
        platforms = tuple(data.get("platforms", ())) or (
            (data["platform"],) if "platform" in data else ()
        )
        executor = data.get("executor", {})
        cache = data.get("cache")
        return BuildConfig(
            context=context,
            dockerfile=(context / data.get("dockerfile", "Dockerfile")).resolve(),
            target=data.get("target"),
            args=frozen_mapping(
                {k: _text(v) for k, v in data.get("args", {}).items() if not isinstance(v, dict)}
            ),
            env_args=frozen_mapping(
                {
                    key: EnvBuildArg(
                        value["env"],
                        value.get("secret", True),
                        **self.position((*path, "args", key, "env")),
                    )
                    for key, value in data.get("args", {}).items()
                    if isinstance(value, dict)
                }
            ),
            platforms=platforms,
            labels=frozen_mapping(
                {key: _text(value) for key, value in data.get("labels", {}).items()}
            ),
            executor=Executor(
                image=executor.get("image"),
                timeout=parse_duration(executor["timeout"]) if "timeout" in executor else None,
            ),
            cache=BuildCache(
                repo=self.repository((*path, "cache", "repo"), cache["repo"]),
                ttl=parse_duration(cache["ttl"]) if "ttl" in cache else None,
            )
            if cache
            else None,
            reproducible=bool(data.get("reproducible", True)),
            push=data.get("push", "promoter"),
        )

    def signing(self, path: KeyPath, data: Mapping[str, Any], file_key: str) -> SigningConfig:
        return SigningConfig(
            key_file=self.base / data[file_key] if file_key in data else None,
            key_env=data.get("key_env"),
            password_env=data.get("password_env", DEFAULT_PASSWORD_ENV),
            **self.position(path),
        )

    def sign(self, path: KeyPath, sign: object) -> SigningConfig | None:
        if isinstance(sign, Mapping):
            return self.signing(path, sign, "key")
        if sign is True:
            return self.signing(("signing",), self.doc.data["signing"], "key_file")
        return None

    def promote(self, path: KeyPath, data: Mapping[str, Any]) -> PromoteRule:
        when = data.get("when", "tag")
        kind, _, pattern = when.partition(":")
        return PromoteRule(
            to=tuple(
                self.repository((*path, "to", index), target)
                for index, target in enumerate(data["to"])
            ),
            tags=tuple(data.get("tags", ())),
            when=When(kind, pattern or None),
            mutable=tuple(data.get("mutable", ())),
            **self.position(path),
            sign=self.sign((*path, "sign"), data.get("sign", False)),
        )

    def retention(self, path: KeyPath, data: Mapping[str, Any] | None) -> Retention | None:
        if data is None:
            return None
        newer = data.get("keep_newer_than")
        tags = data.get("keep_tags")
        return Retention(
            keep_last=int(data["keep_last"]) if "keep_last" in data else None,
            keep_newer_than=parse_duration(newer) if newer is not None else None,
            keep_tags=tuple(tags) if tags is not None else None,
            **self.position(path),
        )

    def image(self, name: str, data: Mapping[str, Any]) -> Image:
        path: KeyPath = ("images", name)
        labels = dict(label.split("=", 1) for label in data.get("labels", ()))
        return Image(
            name=name,
            build=self.build((*path, "build"), data["build"]),
            staging=self.repository((*path, "staging"), data["staging"]),
            tags=tuple(data.get("tags", ())),
            flavor=tuple(data.get("flavor", ())),
            labels=frozen_mapping(labels),
            promote=tuple(
                self.promote((*path, "promote", index), rule)
                for index, rule in enumerate(data.get("promote", ()))
            ),
            **self.position(path),
            retention=self.retention((*path, "retention"), data.get("retention")),
        )

    def policy(self, index: int, data: Mapping[str, Any]) -> PolicyRuleConfig:
        options = {key: value for key, value in data.items() if key not in ("rule", "mode")}
        rule = data["rule"]
        # max-size and max-age keep their text: the rule reads it with the same
        # rules (promoter.units) as a --policy file, and the validator checked it.
        if rule in ("signed", "provenance"):
            if "key" in options:
                options["key"] = self.base / options["key"]
            if "keys" in options:
                options["keys"] = [self.base / name for name in options["keys"]]
        elif rule == "schema":
            options["schema"] = self.base / options["schema"]
        return PolicyRuleConfig(
            rule=rule,
            mode=data.get("mode", "enforce"),
            options=frozen_mapping(options),
            index=index,
            **self.position(("policies", index)),
        )

    def pipeline(self) -> Pipeline:
        data = self.doc.data
        for alias, registry in data["registries"].items():
            self.registries[alias] = self.registry(alias, registry)
        images = {name: self.image(name, image) for name, image in data["images"].items()}
        return Pipeline(
            file=self.file,
            version=data["version"],
            registries=frozen_mapping(self.registries),
            images=frozen_mapping(images),
            policies=tuple(
                self.policy(index, rule) for index, rule in enumerate(data.get("policies", ()))
            ),
            signing=self.signing(("signing",), data["signing"], "key_file")
            if "signing" in data
            else None,
            warnings=tuple(literal_secret_warnings(self.doc)),
            retention=self.retention(("retention",), data.get("retention")),
        )


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_pipeline(file: str | os.PathLike[str]) -> Pipeline:
    """Load and validate a pipeline file; raise ``ConfigError`` on the first problem.

    The error's message is ``FILE:LINE:COL: key.path: what is wrong (fix)``;
    further problems, if any, are in its ``detail``, one per line.
    """
    doc = read_document(file)
    raise_problems(doc.file, schema_problems(doc))
    raise_problems(doc.file, semantic_problems(doc))
    return _Builder(doc).pipeline()
