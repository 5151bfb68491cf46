"""The CI services promoter runs on: GitHub Actions and Azure DevOps.

One place knows about them:

- ``service``: which service this process runs on (``--ci``, ``PROMOTER_CI``,
  then ``GITHUB_ACTIONS=true`` / ``TF_BUILD=True``). It imports nothing and is
  the one module of this package that lower layers (tagging, pipeline) use.
- ``adapter``: the service's side of a command's result, made from the same
  JSON document that ``--output json`` prints: step outputs, a job summary,
  annotations at the pipeline.yml line, masks for every secret, the step's
  result. Only the CLI uses it.
- ``buildlog``: kaniko's output as one collapsible group per build.
"""

from __future__ import annotations
