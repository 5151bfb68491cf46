"""The promotion report's JSON form (``apply --output json``) from its typed parts: a
copy's account and the signatures made keep the keys they had as dicts."""

from __future__ import annotations

from promoter.promote.report import (
    DestinationResult,
    ImageResult,
    PromotionReport,
    SignatureMade,
)
from promoter.transfer.result import CopyResult


def test_a_signature_made_says_whether_it_is_new_and_where_it_went() -> None:
    made = SignatureMade("sha256:f", "sha256-ab.sig@sha256:t", "sha256:r")
    assert made.to_dict() == {
        "fingerprint": "sha256:f",
        "new": True,
        "tag": "sha256-ab.sig@sha256:t",
        "referrer": "sha256:r",
    }
    assert SignatureMade("sha256:f").to_dict() == {"fingerprint": "sha256:f", "new": False}


def test_the_destination_shows_the_copy_account_and_the_bytes_add_up() -> None:
    copied = CopyResult("src/app:1", "dst/app", digest="sha256:d")
    copied.count_blob("copied", 700)
    copied.count_blob("mounted", 300)
    other = CopyResult("src/app:1", "dst2/app", digest="sha256:d")
    other.count_blob("copied", 50)
    first = DestinationResult("dst/app", ["1"], copy=copied, signatures=[SignatureMade("k")])
    image = ImageResult("app", "sha256:d", "promoted", destinations=[first])
    image.destinations.append(DestinationResult("dst2/app", copy=other))
    image.destinations.append(DestinationResult("dst3/app"))
    document = first.to_dict()
    assert document["copy"] == copied.to_dict()
    assert document["signatures"] == [{"fingerprint": "k", "new": False}]
    assert DestinationResult("dst3/app").to_dict()["copy"] is None
    assert (image.bytes_moved("copied"), image.bytes_moved("mounted")) == (750, 300)
    report = PromotionReport([image, ImageResult("web", None, "skipped")])
    assert (report.bytes_moved("copied"), report.bytes_moved("mounted")) == (750, 300)
    assert (report.to_dict()["bytesCopied"], report.to_dict()["bytesMounted"]) == (750, 300)
