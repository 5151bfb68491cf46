"""The copy engine judges a failed blob by the one retry table: a 401 or a 501 from
the destination is not worth starting the blob over on the regular path (it
used to be: the engine kept a list of its own), a 503 still is."""

from __future__ import annotations

import secrets

import pytest

from promoter.errors import AuthError, RegistryError
from promoter.registry.access.options import RegistryOptions
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.remote.pipe import PIPE_MIN_SIZE
from promoter.transfer import CopyOptions, copy_image
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.images import make_image, push_http
from tests.support.registry import Registry

pytestmark = pytest.mark.registry

FAST = RegistryOptions(retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05))


@pytest.mark.parametrize(
    ("status", "raised", "copied"),
    [(401, AuthError, False), (501, RegistryError, False), (503, None, True)],
)
def test_a_failed_pipe_is_started_over_only_when_the_table_says(
    status: int,
    raised: type[RegistryError] | None,
    copied: bool,
    registry: Registry,
    other_registry: Registry,
    other_proxy: FaultProxy,
) -> None:
    image = make_image(layer_sizes=(PIPE_MIN_SIZE + 10,), seed=secrets.token_hex(4))
    (big,) = image.layer_digests
    closing = "digest=sha256(:|%3A)" + big.split(":")[1]
    src, dst = f"engine/src{status}", f"engine/dst{status}"
    push_http(image, registry.url, src, "1")
    # The pipe's closing PUT of the large blob answers ``status`` once.
    fault = other_proxy.add(Fault("status", method="PUT", path=closing, status=status))

    def copy() -> object:
        return copy_image(
            f"{registry.host}/{src}:1",
            f"{other_proxy.host}/{dst}:1",
            options=CopyOptions(jobs=1),
            registry_options=FAST,
        )

    if raised is None:
        assert copy() is not None
    else:
        with pytest.raises(raised) as caught:
            copy()
        assert caught.value.status == status
    assert fault.fired == 1
    puts = other_proxy.count(method="PUT", path=closing)
    assert puts == (2 if copied else 1)  # started over on the regular path, or not
