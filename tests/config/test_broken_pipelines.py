"""A table of broken pipeline files: each exits 2 with FILE:LINE:COL: key.path: message.

Every case is written into a fresh project folder (with app/Dockerfile) as
pipeline.yml and validated by the real CLI: every other case through
``python -m promoter`` in a subprocess, the rest in-process. The first line
on stderr must name the exact line, column and key path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.config.cli_runner import CliResult, run_in_process, run_subprocess

# Lines 1-4.
HEAD = """\
version: 1
registries:
  staging: {host: 127.0.0.1:5000, insecure: true}
  prod: {host: 127.0.0.1:5001, insecure: true}
"""
# Lines 5-12.
IMAGES = """\
images:
  web:
    build: {context: app, target: runtime}
    staging: staging/web
    promote:
      - to: [prod/web]
        tags: ["{{version}}", latest]
        mutable: [latest]
"""
# Lines 13-14.
POLICIES = """\
policies:
  - rule: non-root
"""
VALID = HEAD + IMAGES + POLICIES
# libyaml (used when PyYAML has it) and PyYAML's own parser word this one differently.
BAD_INDENT = "did not find expected key" if yaml.__with_libyaml__ else "expected <block end>"


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    line: int
    column: int
    path: str | None
    says: str


def image(tail: str) -> str:
    """HEAD plus an images section starting at line 5."""
    return HEAD + tail


def policy(tail: str) -> str:
    """HEAD and IMAGES plus a policies section starting at line 13."""
    return HEAD + IMAGES + tail


WEB = "images:\n  web:\n    build: {context: app}\n    staging: staging/web\n"  # lines 5-8
PROMOTE = WEB + "    promote:\n"  # line 9

# fmt: off
CASES = [
    # --- top level -------------------------------------------------------------------
    Case("unknown-top-key", VALID + "registry: {}\n", 15, 1, "registry", "did you mean 'registries'?"),
    Case("version-2", VALID.replace("version: 1", "version: 2"), 1, 10, "version", "unsupported pipeline version 2"),
    Case("version-string", VALID.replace("version: 1", 'version: "1"'), 1, 10, "version", "unsupported pipeline version"),
    Case("version-missing", VALID.replace("version: 1\n", ""), 1, 1, None, "missing required key 'version'"),
    Case("images-missing", HEAD + POLICIES, 1, 1, None, "missing required key 'images'"),
    # --- registries ------------------------------------------------------------------
    Case("registries-empty", "version: 1\nregistries: {}\n" + IMAGES, 2, 13, "registries", "must not be empty"),
    Case("registries-list", "version: 1\nregistries: [a]\n" + IMAGES, 2, 13, "registries", "expected a mapping, got a list"),
    Case("host-scheme", VALID.replace("{host: 127.0.0.1:5000,", '{host: "https://r.example",'), 3, 19, "registries.staging.host", "without a scheme"),
    Case("host-typo", VALID.replace("{host: 127.0.0.1:5000,", "{hots: 127.0.0.1:5000,"), 3, 13, "registries.staging.hots", "did you mean 'host'?"),
    Case("registry-unknown-key", VALID.replace("insecure: true}", "insecure: true, tls: false}", 1), 3, 51, "registries.staging.tls", "unknown key 'tls'"),
    Case("insecure-not-bool", VALID.replace("insecure: true}", 'insecure: "yes please"}', 1), 3, 45, "registries.staging.insecure", "expected true or false, got a string"),
    Case("auth-basic-string", VALID.replace("5001, insecure: true}", "5001, auth: basic}"), 4, 38, "registries.prod.auth", "unknown auth kind 'basic'"),
    Case("auth-basic-no-password", VALID.replace("5001, insecure: true}", "5001, auth: {kind: basic, username_env: REG_USER}}"),
        4,
        32,
        "registries.prod.auth",
        "missing required key 'password_env'",
    ),
    Case("auth-token-password", VALID.replace("5001, insecure: true}", "5001, auth: {kind: token, token_env: T, password_env: P}}"),
        4,
        66,
        "registries.prod.auth.password_env",
        "unknown key 'password_env'",
    ),
    Case("auth-kind-typo", VALID.replace("5001, insecure: true}", "5001, auth: {kind: azur}}"), 4, 45, "registries.prod.auth.kind", "did you mean 'azure'?"),
    Case("auth-secret-value", VALID.replace("5001, insecure: true}", '5001, auth: {kind: token, token_env: "s3cr3t-t0ken!"}}'),
        4,
        63,
        "registries.prod.auth.token_env",
        "never a secret value",
    ),
    Case("alias-with-space", VALID.replace("  prod: {", '  "prod eu": {'), 4, 3, "registries['prod eu']", "a registry alias is"),
    Case("registry-duplicate", HEAD + "  staging: {host: 127.0.0.1:5002}\n" + IMAGES, 5, 3, "registries.staging", "duplicate key 'staging' (first defined at line 3)"),
    Case("limits-rate-zero", VALID.replace("5001, insecure: true}", "5001, limits: {requests_per_second: 0}}"), 4, 62, "registries.prod.limits.requests_per_second", "requests_per_second is a number above 0"),
    Case("limits-rate-string", VALID.replace("5001, insecure: true}", '5001, limits: {requests_per_second: "fast"}}'), 4, 62, "registries.prod.limits.requests_per_second", "expected a number, got a string"),
    Case("limits-concurrency-float", VALID.replace("5001, insecure: true}", "5001, limits: {max_concurrency: 2.5}}"), 4, 58, "registries.prod.limits.max_concurrency", "expected an integer, got a number"),
    Case("limits-concurrency-huge", VALID.replace("5001, insecure: true}", "5001, limits: {max_concurrency: 5000}}"), 4, 58, "registries.prod.limits.max_concurrency", "max_concurrency is a whole number from 1 to 1024"),
    Case("limits-empty", VALID.replace("5001, insecure: true}", "5001, limits: {}}"), 4, 40, "registries.prod.limits", "must not be empty"),
    Case("limits-unknown", VALID.replace("5001, insecure: true}", "5001, limits: {rps: 5}}"), 4, 41, "registries.prod.limits.rps", "unknown key 'rps'"),
    Case("ca-file-missing", VALID.replace("5000, insecure: true}", "5000, ca_file: certs/ca.pem}"), 3, 44, "registries.staging.ca_file", "CA file 'certs/ca.pem' does not exist"),
    # --- images ----------------------------------------------------------------------
    Case("images-empty", image("images: {}\n"), 5, 9, "images", "must not be empty"),
    Case("image-no-staging", image("images:\n  web:\n    build: {context: app}\n"), 6, 3, "images.web", "missing required key 'staging'"),
    Case("image-key-typo", image("images:\n  web:\n    build: {context: app}\n    stagging: staging/web\n"), 8, 5, "images.web.stagging", "did you mean 'staging'?"),
    Case("staging-undefined-alias", image(WEB.replace("staging: staging/web", "staging: stagin/web")), 8, 14, "images.web.staging", "registry alias 'stagin' is not defined (did you mean 'staging'?)"),
    Case("staging-no-slash", image(WEB.replace("staging: staging/web", "staging: staging")), 8, 14, "images.web.staging", "write '<registry alias>/<repository>'"),
    Case("staging-uppercase", image(WEB.replace("staging: staging/web", "staging: staging/Web")), 8, 14, "images.web.staging", "'Web' is not a valid repository name"),
    Case("staging-with-tag", image(WEB.replace("staging: staging/web", "staging: staging/web:1.0")), 8, 14, "images.web.staging", "names a tag or digest"),
    Case("image-duplicate", image(WEB + "  web:\n    build: {context: app}\n    staging: staging/web\n"), 9, 3, "images.web", "duplicate key 'web' (first defined at line 6)"),
    Case("image-name-space", image(WEB.replace("  web:", '  "web app":')), 6, 3, "images['web app']", "an image name is"),
    # --- promote ---------------------------------------------------------------------
    Case("promote-undefined-alias", image(PROMOTE + "      - to: [prd/web]\n"), 10, 14, "images.web.promote[0].to[0]", "registry alias 'prd' is not defined (did you mean 'prod'?)"),
    Case("promote-to-staging", image(PROMOTE + "      - to: [staging/web]\n"), 10, 14, "images.web.promote[0].to[0]", "is the staging repository itself"),
    Case("promote-twice", image(PROMOTE + "      - to: [prod/web, prod/web]\n"), 10, 24, "images.web.promote[0].to[1]", "'prod/web' is listed twice"),
    Case("promote-when", image(PROMOTE + "      - to: [prod/web]\n        when: on-tag\n"), 11, 15, "images.web.promote[0].when", "when is 'tag', 'always' or 'branch:<glob>'"),
    Case("promote-when-branch-empty", image(PROMOTE + '      - to: [prod/web]\n        when: "branch:"\n'), 11, 15, "images.web.promote[0].when", "branch:<glob>"),
    Case("mutable-not-in-tags", image(PROMOTE + '      - to: [prod/web]\n        tags: ["{{version}}", latest]\n        mutable: [lates]\n'),
        12,
        19,
        "images.web.promote[0].mutable[0]",
        "mutable tag 'lates' is not one of the rule's tags (did you mean 'latest'?)",
    ),
    Case("promote-template", image(PROMOTE + '      - to: [prod/web]\n        tags: ["{{verison}}"]\n'), 11, 16, "images.web.promote[0].tags[0]", "unknown template variable 'verison' (did you mean 'version'?)"),
    Case("promote-bad-tag", image(PROMOTE + '      - to: [prod/web]\n        tags: ["-bad"]\n'), 11, 16, "images.web.promote[0].tags[0]", "'-bad' is not a valid tag"),
    Case("promote-key-typo", image(PROMOTE + "      - to: [prod/web]\n        tag: [latest]\n"), 11, 9, "images.web.promote[0].tag", "did you mean 'tags'?"),
    Case("promote-no-to", image(PROMOTE + "      - tags: [latest]\n"), 10, 9, "images.web.promote[0]", "missing required key 'to'"),
    Case("promote-date-unquoted", image(PROMOTE + '      - to: [prod/web]\n        tags: ["{{date YYYYMMDD}}"]\n'), 11, 16, "images.web.promote[0].tags[0]", "needs a quoted format"),
    Case("promote-unclosed", image(PROMOTE + '      - to: [prod/web]\n        tags: ["v{{version"]\n'), 11, 16, "images.web.promote[0].tags[0]", "unclosed '{{'"),
    # --- build -----------------------------------------------------------------------
    Case("context-missing", image(WEB.replace("{context: app}", "{context: nowhere}")), 7, 22, "images.web.build.context", "build context 'nowhere' does not exist"),
    Case("context-is-file", image(WEB.replace("{context: app}", "{context: app/Dockerfile}")), 7, 22, "images.web.build.context", "is not a directory"),
    Case("dockerfile-missing", image(WEB.replace("{context: app}", "{context: app, dockerfile: Containerfile}")), 7, 39, "images.web.build.dockerfile", "Dockerfile 'Containerfile' does not exist"),
    Case("target-stage", image(WEB.replace("{context: app}", "{context: app, target: runtme}")), 7, 35, "images.web.build.target", "build stage 'runtme' is not in Dockerfile (did you mean 'runtime'?)"),
    Case("platform-and-platforms", image(WEB.replace("{context: app}", "{context: app, platform: linux/amd64, platforms: [linux/arm64]}" )),
        7,
        50,
        "images.web.build.platforms",
        "either platform or platforms",
    ),
    Case("platform-bad", image(WEB.replace("{context: app}", "{context: app, platform: amd64}")), 7, 37, "images.web.build.platform", "os/arch[/variant]"),
    Case("build-arg-template", image(WEB.replace("{context: app}", '{context: app, args: {V: "{{vers}}"}}')), 7, 37, "images.web.build.args.V", "unknown template variable 'vers'"),
    Case("build-arg-env-value", image(WEB.replace("{context: app}", "{context: app, args: {T: {env: 'npm abc'}}}")), 7, 43, "images.web.build.args.T.env", "give the name of an environment variable"),
    Case("build-arg-env-unknown", image(WEB.replace("{context: app}", "{context: app, args: {T: {env: X, value: x}}}")), 7, 46, "images.web.build.args.T.value", "unknown key 'value'"),
    Case("build-arg-env-missing", image(WEB.replace("{context: app}", "{context: app, args: {T: {secret: true}}}")), 7, 34, "images.web.build.args.T", "missing required key 'env'"),
    Case("build-push", image(WEB.replace("{context: app}", "{context: app, push: docker}")), 7, 33, "images.web.build.push", "invalid value 'docker'"),
    Case("cache-needs-kaniko", image(WEB.replace("{context: app}", "{context: app, cache: {repo: staging/cache}}")), 7, 27, "images.web.build.cache", "needs 'push: kaniko'"),
    Case("cache-undefined-alias", image(WEB.replace("{context: app}", "{context: app, push: kaniko, cache: {repo: stage/cache}}" )),
        7,
        55,
        "images.web.build.cache.repo",
        "registry alias 'stage' is not defined",
    ),
    Case("executor-timeout", image(WEB.replace("{context: app}", "{context: app, executor: {timeout: 600}}")), 7, 47, "images.web.build.executor.timeout", "'600' has no unit"),
    Case("build-key-typo", image(WEB.replace("{context: app}", "{context: app, dockerfil: Dockerfile}")), 7, 27, "images.web.build.dockerfil", "did you mean 'dockerfile'?"),
    Case("build-missing", image("images:\n  web:\n    staging: staging/web\n"), 6, 3, "images.web", "missing required key 'build'"),
    # --- tags, flavor, labels --------------------------------------------------------
    Case("tag-rule-type", image(WEB + '    tags: ["type=semvr,pattern={{version}}"]\n'), 9, 12, "images.web.tags[0]", "unknown tag rule type 'semvr' (did you mean 'semver'?)"),
    Case("tag-rule-attribute", image(WEB + '    tags: ["type=ref,evnt=branch"]\n'), 9, 12, "images.web.tags[0]", "unknown tag rule attribute 'evnt' (did you mean 'event'?)"),
    Case("tag-rule-event", image(WEB + '    tags: ["type=ref,event=brnch"]\n'), 9, 12, "images.web.tags[0]", "event=brnch is not valid (did you mean 'branch'?)"),
    Case("tag-rule-template", image(WEB + '    tags: ["type=semver,pattern={{major}}.{{minr}}"]\n'), 9, 12, "images.web.tags[0]", "unknown template variable 'minr' (did you mean 'minor'?)"),
    Case("tag-rule-semver-no-pattern", image(WEB + '    tags: ["type=semver"]\n'), 9, 12, "images.web.tags[0]", "type=semver needs pattern="),
    Case("flavor-bad", image(WEB + "    flavor: [latest=maybe]\n"), 9, 14, "images.web.flavor[0]", "a flavor is latest=auto|true|false"),
    Case("labels-bad", image(WEB + "    labels: [just-a-word]\n"), 9, 14, "images.web.labels[0]", "a label is key=value"),
    Case("labels-template", image(WEB + '    labels: ["org.opencontainers.image.version={{vesion}}"]\n'), 9, 14, "images.web.labels[0]", "unknown template variable 'vesion'"),
    # --- policies --------------------------------------------------------------------
    Case("policy-unknown-rule", policy("policies:\n  - rule: non-rot\n"), 14, 11, "policies[0].rule", "unknown policy rule 'non-rot' (did you mean 'non-root'?)"),
    Case("policy-no-rule", policy("policies:\n  - mode: warn\n"), 14, 5, "policies[0]", "missing required key 'rule'"),
    Case("policy-rule-misspelt", policy("policies:\n  - rul: non-root\n"), 14, 5, "policies[0]", "missing required key 'rule' (did you mean 'rule' instead of 'rul'?)"),
    Case("policy-option-typo", policy("policies:\n  - rule: max-size\n    maxx: 500MiB\n"), 15, 5, "policies[0].maxx", "did you mean 'max'?"),
    Case("max-size-ambiguous", policy("policies:\n  - rule: max-size\n    max: 500M\n"), 15, 10, "policies[0].max", "'500M' is ambiguous; write 500MiB (1024-based) or 500MB (1000-based)"),
    Case("max-size-bare", policy("policies:\n  - rule: max-size\n    max: 500\n"), 15, 10, "policies[0].max", "'500' has no unit; write 500MiB"),
    Case("max-size-unit", policy("policies:\n  - rule: max-size\n    max: 5 bytes\n"), 15, 10, "policies[0].max", "unknown size unit 'bytes'"),
    Case("max-age-bare", policy("policies:\n  - rule: max-age\n    max: 30\n"), 15, 10, "policies[0].max", "'30' has no unit"),
    Case("mode-bad", policy("policies:\n  - rule: non-root\n    mode: audit\n"), 15, 11, "policies[0].mode", "invalid value 'audit'"),
    Case("platforms-neither", policy("policies:\n  - rule: platforms\n"), 14, 5, "policies[0]", "exactly one of 'required' or 'exact'"),
    Case("platforms-both", policy("policies:\n  - rule: platforms\n    required: [linux/amd64]\n    exact: [linux/amd64]\n"),
        14,
        5,
        "policies[0]",
        "exactly one of 'required' or 'exact'",
    ),
    Case("media-types-empty", policy("policies:\n  - rule: media-types\n"), 14, 5, "policies[0]", "needs allow_manifest, allow_layer or both"),
    Case("signed-key-missing", policy("policies:\n  - rule: signed\n    key: keys/missing.pub\n"), 15, 10, "policies[0].key", "public key 'keys/missing.pub' does not exist"),
    Case("vulnerabilities-key-missing", policy("policies:\n  - rule: vulnerabilities\n    max: {critical: 0}\n    key: keys/missing.pub\n"), 16, 10, "policies[0].key", "public key 'keys/missing.pub' does not exist"),
    Case("vulnerabilities-key-and-keys", policy("policies:\n  - rule: vulnerabilities\n    max: {critical: 0}\n    key: keys/cosign.pub\n    keys: [keys/cosign.pub]\n"), 14, 5, "policies[0]", "needs exactly one of 'key'"),
    Case("schema-not-json", policy("policies:\n  - rule: schema\n    schema: not-json.json\n"), 15, 13, "policies[0].schema", "not readable JSON"),
    Case("required-labels-empty", policy("policies:\n  - rule: required-labels\n    labels: []\n"), 15, 13, "policies[0].labels", "must not be empty"),
    Case("required-labels-regex", policy('policies:\n  - rule: required-labels\n    labels: {org.opencontainers.image.source: "("}\n'),
        15,
        47,
        "policies[0].labels['org.opencontainers.image.source']",
        "not a regular expression",
    ),
    Case("non-root-option", policy("policies:\n  - rule: non-root\n    user: nobody\n"), 15, 5, "policies[0].user", "unknown key 'user'"),
    Case("policies-mapping", policy("policies:\n  rule: non-root\n"), 14, 3, "policies", "expected a list, got a mapping"),
    Case("third-policy", policy("policies:\n  - rule: non-root\n  - rule: max-size\n    max: 1GB\n  - rule: referrers\n"),
        17,
        5,
        "policies[2]",
        "missing required key 'artifact_types'",
    ),
    # --- signing ----------------------------------------------------------------------
    Case("sign-without-signing", image(PROMOTE + "      - to: [prod/web]\n        sign: true\n"), 11, 15, "images.web.promote[0].sign", "sign: true needs a top-level 'signing' section"),
    Case("sign-string", image(PROMOTE + "      - to: [prod/web]\n        sign: yes-please\n"), 11, 15, "images.web.promote[0].sign", "expected true or false or a mapping, got a string"),
    Case("sign-unknown-key", image(PROMOTE + "      - to: [prod/web]\n        sign: {file: k}\n"), 11, 16, "images.web.promote[0].sign.file", "unknown key 'file'"),
    Case("sign-key-missing", image(PROMOTE + "      - to: [prod/web]\n        sign: {key: nope.key}\n"), 11, 21, "images.web.promote[0].sign.key", "signing key 'nope.key' does not exist"),
    Case("sign-two-keys", image(PROMOTE + "      - to: [prod/web]\n        sign: {key: k, key_env: K}\n"), 11, 15, "images.web.promote[0].sign", "exactly one of 'key' (a file) or 'key_env'"),
    Case("signing-empty", VALID + "signing: {}\n", 15, 10, "signing", "exactly one of 'key_file' (a file) or 'key_env'"),
    Case("signing-key-file-missing", VALID + "signing: {key_file: missing.key}\n", 15, 21, "signing.key_file", "signing key 'missing.key' does not exist"),
    Case("signing-key-env-value", VALID + "signing: {key_env: 'not a name'}\n", 15, 20, "signing.key_env", "give the name of an environment variable"),
    Case("signing-password-value", VALID + "signing: {key_env: K, password_env: 'hunter 2'}\n", 15, 37, "signing.password_env", "give the name of an environment variable"),
    Case("signing-unknown-key", VALID + "signing: {key: cosign.key}\n", 15, 11, "signing.key", "unknown key 'key'"),
    # --- YAML and the file itself ----------------------------------------------------
    Case("yaml-unclosed-flow", "version: 1\nregistries: {staging: {host: a}\n", 3, 1, None, "expected ',' or '}'"),
    Case("yaml-tab", "version: 1\nregistries:\n\tstaging: {}\n", 3, 1, None, "that cannot start any token"),
    Case("yaml-bad-indent", "version: 1\nregistries:\n  a: 1\n b: 2\n", 4, 2, None, BAD_INDENT),
    Case("yaml-alias", "version: 1\nregistries:\n  staging: &r {host: 127.0.0.1:5000}\n  prod: *r\n", 4, 9, None, "YAML aliases (*name) are not supported"),
    Case("yaml-two-documents", "version: 1\n---\nversion: 1\n", 2, 1, None, "YAML: but found another document"),
    Case("empty-file", "", 1, 1, None, "the pipeline file is empty"),
    Case("comments-only", "# nothing here\n", 1, 1, None, "the pipeline file is empty"),
    Case("top-level-list", "- version: 1\n", 1, 1, None, "must be a mapping"),
    Case("top-level-scalar", "just some text\n", 1, 1, None, "must be a mapping"),
    Case("not-utf8", b"version: 1\nregistries:\n  st\xffaging: {}\n", 3, 5, None, "not UTF-8 text (byte 0xff)"),
    Case("nul-byte", "version: 1\nregistries: \x00\n", 2, 13, None, "YAML: unacceptable character #x0000"),
    Case("python-tag", "version: 1\nregistries: !!python/object:os.system {}\n", 2, 13, "registries", "unsupported YAML tag"),
    Case("deep-nesting", "version: 1\nregistries: " + "[" * 100 + "]" * 100 + "\n", 2, 76, "registries[0][0][0][0][0]...", "nesting deeper than 64 levels"),
    Case("duplicate-version", "version: 1\nversion: 1\n", 2, 1, "version", "duplicate key 'version'"),
    Case("complex-key", "version: 1\n? [a, b]\n: 1\n", 2, 3, None, "mapping keys must be plain strings"),
    Case("bad-int-tag", "version: !!int one\n", 1, 10, "version", "unsupported YAML tag 'tag:yaml.org,2002:int'"),
]
# fmt: on


def _run(index: int, args: list[str], cwd: Path) -> CliResult:
    # Every other case goes through a real subprocess; the rest run in-process.
    return run_subprocess(args, cwd=cwd) if index % 2 == 0 else run_in_process(args)


def test_the_table_is_large_and_unique() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def test_the_base_pipeline_is_valid(project: Path) -> None:
    (project / "pipeline.yml").write_text(VALID)
    outcome = run_in_process(["validate", "-f", "pipeline.yml"])
    assert outcome.code == 0, outcome.stderr
    assert "valid (1 image(s), 2 registries, 1 policy)" in outcome.stdout


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[c.name for c in CASES])
def test_broken_pipeline(project: Path, index: int, case: Case) -> None:
    target = project / "pipeline.yml"
    if isinstance(case.text, bytes):
        target.write_bytes(case.text)
    else:
        target.write_text(case.text)
    outcome = _run(index, ["validate", "-f", "pipeline.yml"], project)
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stderr
    where = f"error: pipeline.yml:{case.line}:{case.column}: "
    path = f"{case.path}: " if case.path else ""
    first = outcome.first_error_line
    assert first.startswith(where + path), first
    assert case.says in first, first
    assert outcome.stdout == ""


@pytest.mark.parametrize("key", ["token_env", "password_env", "username_env"])
def test_a_secret_pasted_for_a_variable_name_is_never_echoed(project: Path, key: str) -> None:
    secret = "ghp_Zx9!s3cr3t/t0ken+value="
    fields = {
        "token_env": "{kind: token, token_env: '%s'}",
        "password_env": "{kind: basic, username_env: U, password_env: '%s'}",
        "username_env": "{kind: basic, username_env: '%s', password_env: P}",
    }
    auth = fields[key] % secret
    (project / "pipeline.yml").write_text(
        VALID.replace("5001, insecure: true}", f"5001, auth: {auth}}}")
    )
    for output in ("text", "json"):
        outcome = run_in_process(["validate", "-f", "pipeline.yml", "--output", output])
        assert outcome.code == 2
        assert f"registries.prod.auth.{key}: give the name of an environment variable" in (
            outcome.stderr
        )
        assert secret not in outcome.stderr + outcome.stdout
