"""``write_json``: a large document goes out in pieces as it is encoded, every piece
redacted, and the whole is the document's JSON with every secret replaced."""

from __future__ import annotations

import base64
import json
import uuid

from promoter.cli.render import write_json
from promoter.redaction import register_secret


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def test_a_plan_sized_document_is_written_in_pieces_and_redacted() -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    register_secret(secret)
    encoded = base64.b64encode(f"user:{secret}".encode()).decode()
    # 2,000 images, each naming the secret somewhere, plain or in a Basic header.
    document = {
        "images": [
            {
                "name": f"image-{n}",
                "note": f"registry said {secret}" if n % 7 == 0 else "fine",
                "header": f"Authorization: Basic {encoded}" if n % 11 == 0 else "none",
                "tags": [f"1.{n}.0", "latest"],
            }
            for n in range(2000)
        ]
    }
    stream = _Recorder()
    write_json(document, stream)
    text = "".join(stream.writes)
    assert len(text) > 4 * 64 * 1024
    assert len(stream.writes) >= len(text) // (64 * 1024)  # written as encoded, not whole
    assert max(len(w) for w in stream.writes) < 2 * 64 * 1024
    assert secret not in text and encoded not in text
    assert text.endswith("}\n")
    back = json.loads(text)
    assert len(back["images"]) == 2000
    assert back["images"][0]["note"] == "registry said ***"
    assert back["images"][11]["header"] == "Authorization: Basic ***"
    assert back["images"][1] == document["images"][1]


def test_a_small_document_is_the_same_as_json_dumps() -> None:
    document = {"ok": True, "n": [1, 2, {"a": None}], "text": "line\nnext"}
    stream = _Recorder()
    write_json(document, stream)
    assert "".join(stream.writes) == json.dumps(document, indent=2) + "\n"
