"""``promoter.structs``: the value classes behave as ``dataclasses`` makes them.

Each behaviour is checked against the same declaration made by the standard
library's ``@dataclass``, so where the two would differ the test says so.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import pytest

from promoter import notices
from promoter.structs import FrozenInstanceError, field, fields, replace, struct
from promoter.transfer.workers import Workers, in_background

if TYPE_CHECKING:
    from dataclasses import KW_ONLY


@struct(frozen=True, order=True)
class Point:
    x: int
    y: int = 0
    label: str = field(default="", compare=False, repr=False)
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "point"


@dataclasses.dataclass(frozen=True, order=True)
class StdPoint:
    x: int
    y: int = 0
    label: str = dataclasses.field(default="", compare=False, repr=False)
    tags: tuple[str, ...] = ()
    kind: ClassVar[str] = "point"


@struct
class Bag:
    name: str
    items: list[str] = field(default_factory=list)
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)


@struct(frozen=True)
class Request:
    method: str
    path: str
    _: KW_ONLY
    body: bytes = b""
    retry: bool = True


@struct(frozen=True)
class Child(Point):
    z: int = 0


@struct(frozen=True)
class Checked:
    name: str
    seen: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a name")
        self.seen.append(self.name)


def test_construction_matches_dataclasses() -> None:
    for cls in (Point, StdPoint):
        assert cls(1).y == 0
        assert cls(1, 2).y == 2
        assert cls(x=3, y=4, tags=("a",)).tags == ("a",)
        assert cls.kind == "point"
    assert [f.name for f in fields(Point)] == [f.name for f in dataclasses.fields(StdPoint)]


def test_repr_equality_hash_and_order_match_dataclasses() -> None:
    ours, theirs = Point(1, 2, label="hidden"), StdPoint(1, 2, label="hidden")
    assert repr(ours) == repr(theirs).replace("StdPoint", "Point") == "Point(x=1, y=2, tags=())"
    assert Point(1, 2, label="a") == Point(1, 2, label="b")  # compare=False
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2, label="a")) == hash(Point(1, 2, label="b"))
    assert sorted([Point(2), Point(1, 5), Point(1, 1)]) == [Point(1, 1), Point(1, 5), Point(2)]
    assert Point(1) != StdPoint(1)  # another class is never equal
    assert Point(1).__eq__(StdPoint(1)) is NotImplemented
    with pytest.raises(TypeError):
        assert Point(1) < StdPoint(2)  # type: ignore[operator]


def test_mutable_structs_are_unhashable_and_assignable() -> None:
    bag = Bag("b")
    bag.items.append("x")
    bag.name = "c"
    assert bag == Bag("c", ["x"])
    assert Bag("d").items is not Bag("d").items  # a fresh list each
    assert repr(bag) == "Bag(name='c', items=['x'])"
    with pytest.raises(TypeError, match="unhashable"):
        hash(bag)


def test_frozen_refuses_assignment_and_deletion() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError, match="'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.x  # type: ignore[misc]
    assert isinstance(FrozenInstanceError(), AttributeError)


def test_keyword_only_fields_after_the_marker() -> None:
    request = Request("GET", "/v2/", body=b"x")
    assert (request.method, request.path, request.body, request.retry) == (
        "GET",
        "/v2/",
        b"x",
        True,
    )
    with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
        Request("GET", "/v2/", b"x")  # type: ignore[misc]
    assert [f.name for f in fields(Request)] == ["method", "path", "body", "retry"]


def test_wrong_arguments_are_refused_as_python_would() -> None:
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'w'"):
        Point(1, w=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]


def test_inherited_fields_come_first() -> None:
    child = Child(1, 2, z=3)
    assert [f.name for f in fields(child)] == ["x", "y", "label", "tags", "z"]
    assert repr(child) == "Child(x=1, y=2, tags=(), z=3)"
    assert child != Point(1, 2)


def test_post_init_runs_after_the_fields_are_set() -> None:
    assert Checked("a").seen == ["a"]
    with pytest.raises(ValueError, match="a name"):
        Checked("")
    # replace runs it again, as dataclasses.replace does (through __init__)
    assert replace(Checked("b"), name="c").seen == ["b", "c"]
    with pytest.raises(ValueError, match="a name"):
        replace(Checked("b"), name="")


def test_replace_makes_a_changed_copy_and_checks_names() -> None:
    point = Point(1, 2, tags=("t",))
    moved = replace(point, y=5)
    assert (moved, point) == (Point(1, 5, tags=("t",)), Point(1, 2, tags=("t",)))
    assert replace(Request("GET", "/"), retry=False).retry is False
    with pytest.raises(TypeError, match="no field 'w'"):
        replace(point, w=1)
    # A class still made by @dataclass is handed to dataclasses.replace.
    assert replace(StdPoint(1), y=3) == StdPoint(1, 3)
    with pytest.raises(TypeError, match="takes a struct"):
        replace(object())


def test_declarations_dataclasses_refuses_are_refused() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @struct
        class Shared:
            items: list[str] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="without a default follows one with a default"):

        @struct
        class Misordered:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(ValueError, match="not both"):
        field(default=1, default_factory=int)


def test_a_method_the_class_defines_is_kept() -> None:
    @struct(frozen=True)
    class Shown:
        value: int

        def __repr__(self) -> str:
            return f"<{self.value}>"

    assert repr(Shown(3)) == "<3>"

    @struct
    class Counted:
        value: int
        made: ClassVar[list[int]] = []

        def __init__(self, value: int) -> None:
            self.value = value
            Counted.made.append(value)

    assert replace(Counted(1), value=2).value == 2
    assert Counted.made == [1, 2]  # replace went through the class's own __init__


def test_structs_pickle_and_cross_threads() -> None:
    point = Point(1, 2, label="l", tags=("a",))
    assert pickle.loads(pickle.dumps(point)) == point
    assert pickle.loads(pickle.dumps(point)).label == "l"


def test_notices_go_to_a_listener_or_else_to_logging(caplog: pytest.LogCaptureFixture) -> None:
    heard: list[str] = []
    with notices.listening(heard.append):
        thread = threading.Thread(target=notices.tell, args=("promoter.registry", "waiting 9 s"))
        thread.start()
        thread.join()
    assert heard == ["waiting 9 s"]
    assert caplog.records == []  # a listener has it, logging does not
    with caplog.at_level(logging.WARNING, logger="promoter.registry"):
        notices.tell("promoter.registry", "waiting 8 s")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("promoter.registry", "waiting 8 s")
    ]


def test_workers_start_on_the_first_task_only() -> None:
    workers = Workers(2, thread_name_prefix="t")
    workers.shutdown()  # nothing started: nothing to stop
    assert not workers.started
    assert list(workers.map(lambda n: n * 2, [1, 2, 3])) == [2, 4, 6]
    assert workers.submit(sum, [1, 2]).result() == 3
    assert workers.started
    workers.shutdown()
    with pytest.raises(RuntimeError):
        workers.submit(sum, [1])


def test_in_background_returns_the_value_or_raises_the_error() -> None:
    names: list[str] = []
    done = in_background(lambda: names.append(threading.current_thread().name) or 7)
    assert done() == 7
    assert names == ["copy-background"]
    failed = in_background(int, "x")
    with pytest.raises(ValueError, match="invalid literal"):
        failed()
