"""The promotion plan: one action per image, destination and tag, and its JSON form.

A plan is what ``promoter plan --out plan.json`` writes and ``promoter apply``
carries out. It is self-contained: the registries' hosts and transport
settings (never credentials), the source digest of every image, the policy
results, and for each destination tag the digest it pointed at when planned,
so ``apply`` can tell whether the world moved since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promoter.config.inputfile import read_json_input
from promoter.errors import ConfigError, InputError
from promoter.files import write_file
from promoter.structs import field, struct

__all__ = [
    "ACTIONS",
    "PLAN_FORMAT",
    "PLAN_KINDS",
    "SIGN_ACTIONS",
    "WRITING_ACTIONS",
    "ImagePlan",
    "PromotionPlan",
    "RollbackInfo",
    "SignAction",
    "TagAction",
    "load_plan",
]

#: The one action of each destination tag.
#: copy: the content is missing there; tag: content present, tag missing (or a
#: mutable tag elsewhere); noop: the tag already names this digest; conflict: an
#: immutable tag names another digest; blocked: policy failed; skipped: ``when``
#: is false for this run.
ACTIONS = ("copy", "tag", "noop", "conflict", "blocked", "skipped")
#: Actions that write to a destination.
WRITING_ACTIONS = frozenset({"copy", "tag"})
#: The one action of each signature (per destination and key): sign: to be signed
#: after the copy, before the tags; signed: a signature of the digest by this key
#: is there already; blocked: policy failed; skipped: ``when`` is false.
SIGN_ACTIONS = ("sign", "signed", "blocked", "skipped")
#: The version of the plan file format.
PLAN_FORMAT = "promoter.plan/v1"
#: What a plan does: promote checked digests, or move a mutable tag back (``promoter rollback``).
PLAN_KINDS = ("promotion", "rollback")
#: The snake_case registry settings of plan files written before every key was camelCase.
_OLD_SETTING_KEYS = {
    "username_env": "usernameEnv",
    "password_env": "passwordEnv",
    "token_env": "tokenEnv",
    "client_id": "clientId",
    "docker_config": "dockerConfig",
    "ca_file": "caFile",
}


@struct
class TagAction:
    """What happens to one tag in one destination repository."""

    destination: str  # host/repository
    tag: str
    action: str
    current: str | None = None  # what the tag names now (None: absent)
    mutable: bool = False
    when: str = "tag"
    reason: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "destination": self.destination,
            "tag": self.tag,
            "action": self.action,
            "current": self.current,
            "mutable": self.mutable,
            "when": self.when,
            "reason": self.reason,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TagAction:
        """Parse the JSON form (``InputError`` when malformed)."""
        action = str(data["action"])
        if action not in ACTIONS:
            raise InputError(f"unknown plan action {action!r}")
        current = data.get("current")
        return cls(
            destination=str(data["destination"]),
            tag=str(data["tag"]),
            action=action,
            current=str(current) if current else None,
            mutable=bool(data.get("mutable", False)),
            when=str(data.get("when", "tag")),
            reason=str(data.get("reason", "")),
            line=int(data.get("line", 0)),
        )


@struct
class SignAction:
    """A signature of the promoted digest in one destination, by one key.

    ``key`` says where the key comes from (``SigningConfig.settings()``: a file's
    path or a variable's name, and the password's variable), never the key;
    ``fingerprint`` is the public key's (``sha256:<hex>`` of its DER form); a ``skipped``
    signature (its rule's ``when`` is false) has none: the key is not even loaded, so a
    run without the signing secrets (a pull request) can plan."""

    destination: str  # host/repository
    action: str
    fingerprint: str
    key: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        out: dict[str, object] = {"destination": self.destination, "action": self.action}
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        out.update(key=dict(self.key), reason=self.reason, line=self.line)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignAction:
        """Parse the JSON form (``InputError`` when malformed)."""
        action = str(data["action"])
        if action not in SIGN_ACTIONS:
            raise InputError(f"unknown plan signature action {action!r}")
        fingerprint = str(data.get("fingerprint") or "")
        if not fingerprint and action != "skipped":
            raise InputError(f"a plan signature to {action!r} names no key fingerprint")
        return cls(
            destination=str(data["destination"]),
            action=action,
            fingerprint=fingerprint,
            key={str(k): str(v) for k, v in dict(data.get("key") or {}).items()},
            reason=str(data.get("reason", "")),
            line=int(data.get("line", 0)),
        )


@struct
class ImagePlan:
    """One image: its source (the staging repository), its digest, checks and actions."""

    image: str
    source: str  # host/repository of staging
    digest: str | None = None
    digest_from: str = "unknown"  # build | staging-tag | unknown
    staging_tag: str | None = None
    policy: dict[str, object] | None = None  # a CheckReport's JSON form; None: not checked
    actions: list[TagAction] = field(default_factory=list)
    signs: list[SignAction] = field(default_factory=list)

    @property
    def to_sign(self) -> list[SignAction]:
        """The signatures still to be made."""
        return [s for s in self.signs if s.action == "sign"]

    @property
    def conflicts(self) -> list[TagAction]:
        """The destination tags that refuse this promotion."""
        return [a for a in self.actions if a.action == "conflict"]

    @property
    def writes(self) -> list[TagAction]:
        """The actions that write (copy, tag)."""
        return [a for a in self.actions if a.action in WRITING_ACTIONS]

    def count(self, action: str) -> int:
        """How many tags have ``action``."""
        return sum(1 for a in self.actions if a.action == action)

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "image": self.image,
            "source": self.source,
            "digest": self.digest,
            "digestFrom": self.digest_from,
            "stagingTag": self.staging_tag,
            "policy": self.policy,
            "actions": [a.to_dict() for a in self.actions],
            "signs": [s.to_dict() for s in self.signs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImagePlan:
        """Parse the JSON form."""
        policy = data.get("policy")
        return cls(
            image=str(data["image"]),
            source=str(data["source"]),
            digest=str(data["digest"]) if data.get("digest") else None,
            digest_from=str(data.get("digestFrom", "unknown")),
            staging_tag=str(data["stagingTag"]) if data.get("stagingTag") else None,
            policy=dict(policy) if isinstance(policy, Mapping) else None,
            actions=[TagAction.from_dict(a) for a in data.get("actions", [])],
            signs=[SignAction.from_dict(s) for s in data.get("signs", [])],
        )


@struct
class RollbackInfo:
    """What a rollback plan moves back, and why: the tag, what ``--to`` asked, the reason
    (kept in the record), and whether the policy checks were skipped (also kept)."""

    tag: str
    to: str = "previous"  # previous | a digest
    reason: str = ""
    skipped_checks: bool = False

    def to_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "tag": self.tag,
            "to": self.to,
            "reason": self.reason,
            "skippedChecks": self.skipped_checks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RollbackInfo:
        """Parse the JSON form."""
        return cls(
            tag=str(data["tag"]),
            to=str(data.get("to", "previous")),
            reason=str(data.get("reason", "")),
            skipped_checks=bool(data.get("skippedChecks", False)),
        )


@struct
class PromotionPlan:
    """Every image's plan, plus what ``apply`` needs to reach the registries again.

    ``registries`` maps a host to its transport settings (``insecure``,
    ``auth`` kind): never a secret; ``apply`` takes them from the pipeline file,
    not from here. ``context`` holds the git commit, ref and CI run URL that go
    into the promotion record, and what the tag rules read of the git context
    (``apply`` derives the destinations and tags from them again). ``pipeline``
    binds the plan to its pipeline file: ``{"path", "sha256"}``.
    """

    file: str
    created: str
    images: list[ImagePlan] = field(default_factory=list)
    registries: dict[str, dict[str, object]] = field(default_factory=dict)
    context: dict[str, object] = field(default_factory=dict)
    pipeline: dict[str, str] = field(default_factory=dict)
    #: ``promotion``, or ``rollback`` (one image, one tag, ``rollback`` says which).
    kind: str = "promotion"
    rollback: RollbackInfo | None = None

    def count(self, action: str) -> int:
        """How many tags of every image have ``action``."""
        return sum(image.count(action) for image in self.images)

    @property
    def unknown(self) -> list[str]:
        """Images whose source digest is not known yet (not built, not in staging)."""
        return [image.image for image in self.images if image.digest is None]

    def summary(self) -> dict[str, int]:
        """Counts per action (and ``sign``: the signatures to make, when a rule signs)."""
        counts = {action: self.count(action) for action in ACTIONS}
        if any(image.signs for image in self.images):
            counts["sign"] = sum(len(image.to_sign) for image in self.images)
        return counts

    def to_dict(self) -> dict[str, object]:
        """The plan file's JSON document."""
        document: dict[str, object] = {
            "format": PLAN_FORMAT,
            "kind": self.kind,
            "file": self.file,
            "pipeline": dict(self.pipeline),
            "created": self.created,
            "context": dict(self.context),
            "registries": {host: dict(v) for host, v in self.registries.items()},
            "summary": self.summary(),
            "unknownDigests": self.unknown,
            "images": [image.to_dict() for image in self.images],
        }
        if self.rollback is not None:
            document["rollback"] = self.rollback.to_dict()
        return document

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromotionPlan:
        """Parse a plan document (``InputError`` when it is not one)."""
        if data.get("format") != PLAN_FORMAT:
            raise InputError(
                f"not a promoter plan (format {data.get('format')!r}, expected {PLAN_FORMAT!r})",
                hint="write one with 'promoter plan --out plan.json'",
            )
        registries = data.get("registries") or {}
        kind = str(data.get("kind", "promotion"))
        rollback = data.get("rollback")
        if kind not in PLAN_KINDS or (kind == "rollback") != isinstance(rollback, Mapping):
            raise InputError(
                f"plan kind {kind!r} with{'' if rollback else 'out'} a 'rollback' section",
                hint="write one with 'promoter plan --out' or 'promoter rollback --out'",
            )
        return cls(
            file=str(data.get("file", "")),
            created=str(data.get("created", "")),
            images=[ImagePlan.from_dict(i) for i in data.get("images", [])],
            registries={
                str(h): {_OLD_SETTING_KEYS.get(k, k): value for k, value in dict(v).items()}
                for h, v in dict(registries).items()
            },
            context=dict(data.get("context") or {}),
            pipeline={str(k): str(v) for k, v in dict(data.get("pipeline") or {}).items()},
            kind=kind,
            rollback=RollbackInfo.from_dict(rollback) if isinstance(rollback, Mapping) else None,
        )

    def write(self, path: str | Path) -> None:
        """Write the plan as JSON, by a temporary file renamed over ``path`` (a link there
        is replaced, not followed)."""
        try:
            write_file(path, json.dumps(self.to_dict(), indent=2) + "\n")
        except OSError as error:
            raise InputError(f"{path}: cannot write the plan: {error.strerror}") from None


def _schema_errors(file: str, data: dict[str, object]) -> None:
    """Raise the first way ``data`` breaks the plan schema (the rest in the detail)."""
    # here, not at the top: pulls yaml, difflib and importlib.resources (+36 modules,
    # 15 ms) into every importer of promoter.promote (history, apply) that reads no plan.
    from promoter.config.schema import plan_schema_dict, schema_problems
    from promoter.config.source import Document

    problems = schema_problems(Document(file, data), plan_schema_dict())
    if not problems:
        return
    first = problems[0]
    error = ConfigError(first.message, file=file, path=first.path or None, hint=first.hint)
    rest = [f"{file}: {p.path}: {p.message}" for p in problems[1:]]
    if rest:
        error.detail = "\n".join(rest)
    raise error


def load_plan(path: str | Path) -> PromotionPlan:
    """Read a plan file; a missing, unreadable or malformed file is bad input (exit 2).

    The file is bounded (``MAX_FILE_BYTES``), strict JSON (no duplicate keys,
    no NaN or Infinity) and checked against ``plan.schema.json`` before
    anything else reads it: a string where a boolean belongs (``"insecure":
    "false"``) is refused, never taken for true.
    """
    file = str(path)
    data = read_json_input(file, what="plan", hint="write one with 'promoter plan --out plan.json'")
    if not isinstance(data, dict):
        raise ConfigError("the plan is not a JSON object", file=file)
    if data.get("format") != PLAN_FORMAT:
        found = data.get("format")
        shown = repr(found[:40] if isinstance(found, str) else found)[:60]
        raise ConfigError(
            f"not a promoter plan (format {shown}, expected {PLAN_FORMAT!r})",
            file=file,
            hint="write one with 'promoter plan --out plan.json'",
        )
    if "pipeline" not in data:
        raise ConfigError(
            "the plan names no pipeline file digest (made by an older promoter): "
            "it cannot be checked against its pipeline file",
            file=file,
            hint="make the plan again with 'promoter plan --out plan.json'",
        )
    _schema_errors(file, data)
    try:
        return PromotionPlan.from_dict(data)
    except InputError as error:
        raise InputError(f"{file}: {error.message}", hint=error.hint) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"malformed plan: {error!r}", file=file) from None
