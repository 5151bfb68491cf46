"""Semantic checks: what the schema cannot say about a pipeline file.

Runs on a document that already matches the schema. Each check yields
located problems: registry aliases that are not defined, targets that are
not ``alias/repository``, template variables nobody knows, build contexts and
Dockerfiles that do not exist, sizes without an explicit unit, ``mutable``
tags that the rule does not write, and so on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from promoter.config.problems import KeyPath, Problem, did_you_mean, format_path
from promoter.config.source import Document
from promoter.config.tagrules import parse_tag_rule, tag_rule_issues
from promoter.config.templates import TemplateIssue, template_issues
from promoter.units import UnitError, parse_duration, parse_size

__all__ = ["REPOSITORY_NAME", "TAG_NAME", "semantic_problems"]

#: OCI distribution-spec repository name components.
REPOSITORY_NAME = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\Z"
)
_STAGE = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*\S+[ \t]+AS[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE
)
#: The distribution grammar of a tag: ASCII, at most 128 characters, nothing after.
TAG_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_TAG_HINT = "letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-'"


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.base = Path(doc.file).resolve().parent
        self.aliases: list[str] = list(doc.data.get("registries", {}))

    def at(self, path: KeyPath, message: str, hint: str | None = None) -> Problem:
        return Problem(self.doc.mark(path), format_path(path), message, hint)

    def at_key(self, path: KeyPath, message: str, hint: str | None = None) -> Problem:
        return Problem(self.doc.key_mark(path), format_path(path), message, hint)

    def issues(self, path: KeyPath, issues: Iterable[TemplateIssue]) -> Iterator[Problem]:
        for issue in issues:
            yield self.at(path, issue.message, issue.hint)

    def templates(self, path: KeyPath, value: object) -> Iterator[Problem]:
        if isinstance(value, str):
            yield from self.issues(path, template_issues(value))

    def target(self, path: KeyPath, value: str) -> Iterator[Problem]:
        alias, _, repository = value.partition("/")
        if alias not in self.aliases:
            hint = did_you_mean(alias, self.aliases) or f"defined: {', '.join(self.aliases)}"
            yield self.at(path, f"registry alias '{alias}' is not defined", hint)
        if "@" in repository or ":" in repository:
            yield self.at(
                path, f"'{value}' names a tag or digest; give only '<alias>/<repository>'"
            )
        elif not REPOSITORY_NAME.match(repository):
            yield self.at(
                path,
                f"'{repository}' is not a valid repository name",
                "lowercase letters, digits and separators '.', '_', '-', '/'",
            )

    def existing(
        self, path: KeyPath, value: str, base: Path, *, directory: bool, what: str
    ) -> Iterator[Problem]:
        where = (base / value).resolve()
        if directory and not where.is_dir():
            state = "is not a directory" if where.exists() else "does not exist"
            yield self.at(path, f"{what} '{value}' {state} (looked in {where})")
        elif not directory and not where.is_file():
            state = "is not a file" if where.exists() else "does not exist"
            yield self.at(path, f"{what} '{value}' {state} (looked in {where})")

    def unit(self, path: KeyPath, value: object, *, size: bool) -> Iterator[Problem]:
        try:
            parse_size(value) if size else parse_duration(value)
        except UnitError as error:
            yield self.at(path, str(error))


def _glob_problem(glob: str) -> str | None:
    """What is wrong with a ``when`` glob (fnmatch would read a lone '[' literally)."""
    index = 0
    while index < len(glob):
        if glob[index] == "[":
            close = glob.find(
                "]", index + 2 if glob[index + 1 : index + 2] in ("!", "]") else index + 1
            )
            if close == -1:
                return f"unclosed '[' at character {index + 1} of the glob"
            index = close
        index += 1
    return None


def _literal_tag_problem(rule: str) -> str | None:
    """The tag a template-free tag rule yields, when that is not a valid tag."""
    attributes = parse_tag_rule(rule)
    if attributes.get("type") != "raw" or any("{{" in v for v in attributes.values()):
        return None
    tag = attributes.get("prefix", "") + attributes.get("value", "") + attributes.get("suffix", "")
    if tag and not TAG_NAME.match(tag):
        return f"this rule yields the tag {tag!r}, which is not a valid tag"
    return None


def _registries(check: _Checker, registries: Mapping[str, Any]) -> Iterator[Problem]:
    for alias, registry in registries.items():
        host = str(registry.get("host", ""))
        port = host.rpartition(":")[2] if not host.endswith("]") and ":" in host else ""
        if port.isdigit() and not 1 <= int(port) <= 65535:
            yield check.at(
                ("registries", alias, "host"), f"port {port} is outside 1-65535", "check the port"
            )
        if "ca_file" in registry:
            yield from check.existing(
                ("registries", alias, "ca_file"),
                registry["ca_file"],
                check.base,
                directory=False,
                what="CA file",
            )


def _build(check: _Checker, path: KeyPath, build: Mapping[str, Any]) -> Iterator[Problem]:
    context_value = build.get("context", ".")
    context_problems = list(
        check.existing(
            (*path, "context"), context_value, check.base, directory=True, what="build context"
        )
    )
    yield from context_problems
    if not context_problems:
        context = (check.base / context_value).resolve()
        # Point at the key that decided the Dockerfile's place, whichever was written.
        written = [key for key in ("dockerfile", "context") if key in build]
        dockerfile_path = (*path, written[0]) if written else path
        dockerfile = build.get("dockerfile", "Dockerfile")
        missing = list(
            check.existing(dockerfile_path, dockerfile, context, directory=False, what="Dockerfile")
        )
        yield from missing
        if not missing and "target" in build:
            yield from _target_stage(
                check, (*path, "target"), build["target"], context / dockerfile
            )
    if "platform" in build and "platforms" in build:
        yield check.at_key((*path, "platforms"), "use either platform or platforms, not both")
    for section in ("args", "labels"):
        for key, value in build.get(section, {}).items():
            if not isinstance(value, dict):  # args: {NAME: {env: VARIABLE}} has no template
                yield from check.templates((*path, section, key), value)
    executor = build.get("executor", {})
    if "timeout" in executor:
        yield from check.unit((*path, "executor", "timeout"), executor["timeout"], size=False)
    cache = build.get("cache")
    if cache is not None:
        yield from check.target((*path, "cache", "repo"), cache["repo"])
        if "ttl" in cache:
            yield from check.unit((*path, "cache", "ttl"), cache["ttl"], size=False)
        if build.get("push", "promoter") != "kaniko":
            yield check.at_key(
                (*path, "cache"),
                "a cache repository needs 'push: kaniko' (kaniko pushes cache layers itself)",
            )


def _target_stage(
    check: _Checker, path: KeyPath, target: str, dockerfile: Path
) -> Iterator[Problem]:
    try:
        with open(dockerfile, "rb") as stream:
            text = stream.read(1024 * 1024).decode("utf-8", errors="replace")
    except OSError as error:
        yield check.at(path, f"cannot read the Dockerfile: {error.strerror}")
        return
    stages = _STAGE.findall(text)
    if target not in stages:
        hint = did_you_mean(target, stages) or (
            f"stages: {', '.join(stages)}"
            if stages
            else "the Dockerfile names no stages (FROM ... AS NAME)"
        )
        yield check.at(path, f"build stage '{target}' is not in {dockerfile.name}", hint)


def _promote(
    check: _Checker, path: KeyPath, rule: Mapping[str, Any], staging: str
) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, target in enumerate(rule["to"]):
        where = (*path, "to", index)
        yield from check.target(where, target)
        if target == staging:
            yield check.at(where, f"'{target}' is the staging repository itself")
        elif target in seen:
            yield check.at(where, f"'{target}' is listed twice")
        seen.add(target)
    tags = rule.get("tags", [])
    for index, tag in enumerate(tags):
        where = (*path, "tags", index)
        issues = list(template_issues(tag))
        yield from check.issues(where, issues)
        if not issues and "{{" not in tag and not TAG_NAME.match(tag):
            yield check.at(where, f"{tag!r} is not a valid tag", _TAG_HINT)
    when = str(rule.get("when", "tag"))
    if when.startswith("branch:"):
        glob_problem = _glob_problem(when[len("branch:") :])
        if glob_problem:
            yield check.at(
                (*path, "when"),
                f"{when!r}: {glob_problem}",
                "a glob's '[' needs its ']', like branch:release/[0-9]*",
            )
    yield from _sign(check, (*path, "sign"), rule.get("sign", False))
    if tags:
        for index, tag in enumerate(rule.get("mutable", [])):
            if tag not in tags:
                hint = did_you_mean(tag, tags) or f"this rule writes: {', '.join(tags)}"
                yield check.at(
                    (*path, "mutable", index),
                    f"mutable tag '{tag}' is not one of the rule's tags",
                    hint,
                )


def _key_source(
    check: _Checker, path: KeyPath, data: Mapping[str, Any], file_key: str
) -> Iterator[Problem]:
    """A signing key: exactly one of a file (that exists) or a variable's name."""
    if (file_key in data) == ("key_env" in data):
        yield check.at(
            path,
            f"a signing key needs exactly one of '{file_key}' (a file) or 'key_env' "
            "(a variable holding the PEM text)",
            "make one with: promoter keygen --out-prefix cosign",
        )
    elif file_key in data:
        yield from check.existing(
            (*path, file_key), data[file_key], check.base, directory=False, what="signing key"
        )


def _sign(check: _Checker, path: KeyPath, sign: object) -> Iterator[Problem]:
    if isinstance(sign, Mapping):
        yield from _key_source(check, path, sign, "key")
    elif sign is True and "signing" not in check.doc.data:
        yield check.at(
            path,
            "sign: true needs a top-level 'signing' section with the key",
            "add signing: {key_file: cosign.key}, or give sign: {key: PATH}",
        )


def _retention(check: _Checker, path: KeyPath, retention: Mapping[str, Any]) -> Iterator[Problem]:
    if "keep_newer_than" in retention:
        yield from check.unit((*path, "keep_newer_than"), retention["keep_newer_than"], size=False)
    for index, glob in enumerate(retention.get("keep_tags", [])):
        problem = _glob_problem(glob)
        if problem:
            yield check.at(
                (*path, "keep_tags", index),
                f"{glob!r}: {problem}",
                "a glob's '[' needs its ']', like v[0-9]*",
            )


def _images(check: _Checker, images: Mapping[str, Any]) -> Iterator[Problem]:
    for name, image in images.items():
        path: KeyPath = ("images", name)
        yield from _build(check, (*path, "build"), image["build"])
        for index, rule in enumerate(image.get("tags", [])):
            rule_issues = list(tag_rule_issues(rule))
            yield from check.issues((*path, "tags", index), rule_issues)
            literal = None if rule_issues else _literal_tag_problem(rule)
            if literal:
                yield check.at((*path, "tags", index), literal, _TAG_HINT)
        for index, flavor in enumerate(image.get("flavor", [])):
            yield from check.templates((*path, "flavor", index), flavor)
        for index, label in enumerate(image.get("labels", [])):
            yield from check.templates((*path, "labels", index), label)
        yield from check.target((*path, "staging"), image["staging"])
        if "retention" in image:
            yield from _retention(check, (*path, "retention"), image["retention"])
        for index, rule in enumerate(image.get("promote", [])):
            yield from _promote(check, (*path, "promote", index), rule, image["staging"])


def _public_keys(check: _Checker, path: KeyPath, policy: Mapping[str, Any]) -> Iterator[Problem]:
    """A rule's ``key`` (a PEM public key file) or ``keys`` (a list of them): one, existing."""
    if ("key" in policy) == ("keys" in policy):
        yield check.at(
            path,
            f"{policy['rule']} needs exactly one of 'key' (a public key file) or 'keys' (a list)",
            "the key a signer's cosign.pub holds: promoter keygen writes one",
        )
    elif "key" in policy:
        yield from check.existing(
            (*path, "key"), policy["key"], check.base, directory=False, what="public key"
        )
    else:
        for index, name in enumerate(policy["keys"]):
            yield from check.existing(
                (*path, "keys", index), name, check.base, directory=False, what="public key"
            )


def _policy(check: _Checker, index: int, policy: Mapping[str, Any]) -> Iterator[Problem]:
    path: KeyPath = ("policies", index)
    rule = policy["rule"]
    if rule == "max-size":
        yield from check.unit((*path, "max"), policy["max"], size=True)
    elif rule == "max-age":
        yield from check.unit((*path, "max"), policy["max"], size=False)
    elif rule == "platforms" and ("required" in policy) == ("exact" in policy):
        yield check.at(path, "platforms needs exactly one of 'required' or 'exact'")
    elif rule == "media-types" and not ({"allow_manifest", "allow_layer"} & set(policy)):
        yield check.at(path, "media-types needs allow_manifest, allow_layer or both")
    elif rule == "required-labels" and isinstance(policy["labels"], dict):
        for label, pattern in policy["labels"].items():
            try:
                re.compile(pattern)
            except re.error as error:
                yield check.at((*path, "labels", label), f"not a regular expression: {error}")
    elif rule in ("signed", "provenance"):
        yield from _public_keys(check, path, policy)
    elif rule == "vulnerabilities":
        if "max_age" in policy:
            yield from check.unit((*path, "max_age"), policy["max_age"], size=False)
        if "key" in policy or "keys" in policy:  # optional here: only signed reports count
            yield from _public_keys(check, path, policy)
    elif rule == "schema":
        problems = list(
            check.existing(
                (*path, "schema"), policy["schema"], check.base, directory=False, what="schema file"
            )
        )
        yield from problems
        if not problems:
            try:
                json.loads((check.base / policy["schema"]).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                yield check.at((*path, "schema"), f"schema file is not readable JSON: {error}")


def semantic_problems(doc: Document) -> list[Problem]:
    """Every semantic problem of a schema-valid document (empty when none)."""
    check = _Checker(doc)
    problems = list(_registries(check, doc.data["registries"]))
    if "signing" in doc.data:
        problems.extend(_key_source(check, ("signing",), doc.data["signing"], "key_file"))
    problems.extend(_images(check, doc.data["images"]))
    if "retention" in doc.data:
        problems.extend(_retention(check, ("retention",), doc.data["retention"]))
    for index, policy in enumerate(doc.data.get("policies", [])):
        problems.extend(_policy(check, index, policy))
    return problems
