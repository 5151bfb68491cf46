"""Value classes declared like dataclasses, made without generating code.

``@struct`` reads a class's field annotations and gives it ``__init__``,
``__repr__``, ``__eq__`` (with ``order=True`` the comparisons, with
``frozen=True`` a ``__hash__`` and a refusal to assign): what ``@dataclass``
gives, for the subset promoter uses. ``dataclasses`` writes each method as source
and compiles it when the class is made, and importing it imports ``inspect``,
``ast``, ``dis`` and ``tokenize``: about 35 ms of the 0.105 s a ``promoter copy``
with nothing to do took on Python 3.11 (issue #24). Here each method is one shared
function reading the class's field table. The type checker sees ``@struct`` as a
dataclass (``dataclass_transform``, PEP 681).

Supported, as ``dataclasses`` has them:

- ``field(default=..., default_factory=..., repr=..., compare=..., hash=..., kw_only=...)``;
- a ``_: KW_ONLY`` pseudo-field (``KW_ONLY`` imported for the type checker only);
- ``ClassVar`` annotations (class attributes, not fields);
- fields inherited from a ``@struct`` base, before the class's own;
- ``__post_init__``, after ``__init__`` set every field (and after ``replace``);
- a method the class defines itself is kept.

Annotations stay strings (``from __future__ import annotations``); nothing here
evaluates them. ``Protocol`` is here for the same reason: see its text."""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar, overload
    from typing import Protocol as Protocol

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
    _C = TypeVar("_C", bound=type)
else:

    def dataclass_transform(**_options):
        return lambda decorator: decorator

    class Protocol:
        """``typing.Protocol`` to the type checker; at run time, a plain base class.

        promoter's protocols are for the type checker only: nothing subclasses
        them or checks them with ``isinstance``, so the layers a command starts
        with need not import ``typing`` (about 4 ms, issue #24)."""

        __slots__ = ()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen struct."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a struct: its name, default or factory, and how it takes part."""

    __slots__ = ("compare", "default", "factory", "hash", "kw_only", "name", "repr")

    def __init__(
        self,
        default: Any,
        factory: Callable[[], Any] | Any,
        repr: bool,
        compare: bool,
        kw_only: bool,
        hash: bool | None = None,
    ) -> None:
        self.name = ""
        self.default = default
        self.factory = factory
        self.repr = repr
        self.compare = compare
        self.kw_only = kw_only
        #: Whether the field takes part in ``__hash__`` (None: when it is compared).
        self.hash = compare if hash is None else hash

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.factory is MISSING

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


if TYPE_CHECKING:

    @overload
    def field(
        *,
        default: _T,
        repr: bool = ...,
        compare: bool = ...,
        hash: bool | None = ...,
        kw_only: bool = ...,
    ) -> _T: ...

    @overload
    def field(
        *,
        default_factory: Callable[[], _T],
        repr: bool = ...,
        compare: bool = ...,
        hash: bool | None = ...,
        kw_only: bool = ...,
    ) -> _T: ...

    @overload
    def field(
        *, repr: bool = ..., compare: bool = ..., hash: bool | None = ..., kw_only: bool = ...
    ) -> Any: ...


def field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
    kw_only: bool = False,
) -> Any:
    """A field's options, as ``dataclasses.field`` takes them."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("a field takes a default or a default_factory, not both")
    return Field(default, default_factory, repr, compare, kw_only, hash)


class _Table:
    """A struct class's fields, in order, and what its methods read of them."""

    __slots__ = (
        "by_name",
        "compared",
        "defaults",
        "every",
        "fields",
        "hashed",
        "names",
        "positional",
        "post_init",
        "shown",
    )

    def __init__(self, fields: list[Field], post_init: bool) -> None:
        self.fields = tuple(fields)
        self.names = tuple(item.name for item in fields)
        self.positional = tuple(item.name for item in fields if not item.kw_only)
        self.by_name = {item.name: item for item in fields}
        self.defaults = {item.name: item.default for item in fields if item.default is not MISSING}
        #: The compared (and the hashed) fields' values of an instance, as one tuple.
        self.compared = _values_of(item.name for item in fields if item.compare)
        self.hashed = _values_of(item.name for item in fields if item.hash)
        self.shown = tuple(item.name for item in fields if item.repr)
        self.every = _values_of(self.names)
        self.post_init = post_init


def _values_of(names: Iterable[str]) -> Callable[[object], tuple[Any, ...]]:
    """A function from an instance to its ``names``' values, as a tuple (C-speed)."""
    chosen = tuple(names)
    if len(chosen) > 1:
        return attrgetter(*chosen)
    if chosen:
        one = attrgetter(chosen[0])
        return lambda instance: (one(instance),)
    return lambda _instance: ()


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _is_kw_only_marker(annotation: object) -> bool:
    return annotation in ("KW_ONLY", "dataclasses.KW_ONLY")


def _own_fields(cls: type, kw_only: bool) -> list[Field]:
    found: list[Field] = []
    # The class's own annotations (inspect.get_annotations would import inspect).
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        if _is_kw_only_marker(annotation):
            kw_only = True
            continue
        declared = cls.__dict__.get(name, MISSING)
        item = (
            declared if isinstance(declared, Field) else Field(declared, MISSING, True, True, False)
        )
        if isinstance(item.default, (list, dict, set)):
            raise ValueError(
                f"{cls.__qualname__}.{name}: a mutable default is shared by every instance;"
                " use field(default_factory=...)"
            )
        item.name = name
        item.kw_only = item.kw_only or kw_only
        # As dataclasses does: a plain default stays a class attribute, a factory does not.
        if item.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)
        else:
            setattr(cls, name, item.default)
        found.append(item)
    return found


def _table(cls: type, kw_only: bool) -> _Table:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited: _Table | None = base.__dict__.get("__struct_table__")
        if inherited is not None:
            fields.update(inherited.by_name)
    for item in _own_fields(cls, kw_only):
        fields[item.name] = item
    ordered = list(fields.values())
    seen_default = False
    for item in ordered:
        if item.kw_only:
            continue
        if item.required and seen_default:
            raise TypeError(
                f"{cls.__qualname__}: field {item.name!r} without a default follows one with a"
                " default"
            )
        seen_default = seen_default or not item.required
    return _Table(ordered, post_init=hasattr(cls, "__post_init__"))


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    table: _Table = type(self).__struct_table__
    if len(args) > len(table.positional):
        raise TypeError(
            f"{type(self).__name__}() takes {len(table.positional)} positional arguments"
            f" but {len(args)} were given"
        )
    # The defaults, then the arguments over them: dictionary work, done in C.
    values = dict(table.defaults)
    values.update(zip(table.positional, args, strict=False))  # fewer args than fields
    if kwargs:
        if not kwargs.keys() <= table.by_name.keys():
            unexpected = next(name for name in kwargs if name not in table.by_name)
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unexpected!r}"
            )
        if args and not kwargs.keys().isdisjoint(table.positional[: len(args)]):
            twice = next(name for name in table.positional[: len(args)] if name in kwargs)
            raise TypeError(f"{type(self).__name__}() got multiple values for argument {twice!r}")
        values.update(kwargs)
    if len(values) < len(table.names):
        for item in table.fields:
            if item.name in values:
                continue
            if item.factory is MISSING:
                raise TypeError(
                    f"{type(self).__name__}() missing a required argument: {item.name!r}"
                )
            values[item.name] = item.factory()
    # Straight into the instance's dictionary: a frozen class refuses setattr.
    self.__dict__.update(values)
    if table.post_init:
        self.__post_init__()


def _repr(self: Any) -> str:
    table: _Table = type(self).__struct_table__
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in table.shown)
    return f"{type(self).__qualname__}({shown})"


def _compared(self: Any) -> tuple[Any, ...]:
    return type(self).__struct_table__.compared(self)  # type: ignore[no-any-return]


def _eq(self: Any, other: object) -> object:
    compared = self.__struct_table__.compared
    if other.__class__ is not self.__class__:
        return NotImplemented
    return bool(compared(self) == compared(other))


def _hash(self: Any) -> int:
    return hash(type(self).__struct_table__.hashed(self))


def _ordering(compare: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]) -> Callable[..., Any]:
    def method(self: Any, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(_compared(self), _compared(other))

    return method


_ORDERING = {
    "__lt__": _ordering(lambda a, b: a < b),
    "__le__": _ordering(lambda a, b: a <= b),
    "__gt__": _ordering(lambda a, b: a > b),
    "__ge__": _ordering(lambda a, b: a >= b),
}


def _frozen_setattr(self: Any, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


def _make(cls: _C, frozen: bool, eq: bool, order: bool, kw_only: bool) -> _C:
    own = cls.__dict__
    table = _table(cls, kw_only)
    cls.__struct_table__ = table  # type: ignore[attr-defined]
    if "__init__" not in own:
        cls.__init__ = _init  # type: ignore[misc]
    if "__repr__" not in own:
        cls.__repr__ = _repr  # type: ignore[assignment]
    if eq and "__eq__" not in own:
        cls.__eq__ = _eq  # type: ignore[assignment]
    if order:
        for name, method in _ORDERING.items():
            if name in own:
                raise TypeError(f"{cls.__qualname__} defines {name}; drop order=True")
            setattr(cls, name, method)
    # dataclasses' rule: equal and frozen hashes by value; equal and mutable, not at all.
    if eq and ("__hash__" not in own or own["__hash__"] is None):
        cls.__hash__ = _hash if frozen else None  # type: ignore[assignment]
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
    return cls


@dataclass_transform(field_specifiers=(field, Field))
def struct(
    cls: _C | None = None,
    /,
    *,
    frozen: bool = False,
    eq: bool = True,
    order: bool = False,
    kw_only: bool = False,
) -> Any:
    """Make ``cls`` a value class of its annotated fields (see the module's text)."""
    if order and not eq:
        raise ValueError("order=True needs eq=True")

    def wrap(cls: _C) -> _C:
        return _make(cls, frozen, eq, order, kw_only)

    return wrap if cls is None else wrap(cls)


def fields(instance_or_class: object) -> tuple[Field, ...]:
    """The fields of a struct, in ``__init__``'s order."""
    table: _Table | None = getattr(instance_or_class, "__struct_table__", None)
    if table is None:
        raise TypeError(f"{instance_or_class!r} is not a struct")
    return table.fields


def replace(instance: _T, /, **changes: Any) -> _T:
    """A copy of a struct with some fields changed (``dataclasses.replace``)."""
    table: _Table | None = getattr(type(instance), "__struct_table__", None)
    if table is None:
        if hasattr(type(instance), "__dataclass_fields__"):
            import dataclasses  # a class still made by @dataclass

            return dataclasses.replace(instance, **changes)  # type: ignore[type-var]
        raise TypeError(f"replace() takes a struct, not {type(instance).__name__}")
    if not changes.keys() <= table.by_name.keys():
        unknown = next(name for name in changes if name not in table.by_name)
        raise TypeError(f"{type(instance).__name__} has no field {unknown!r}")
    values = dict(zip(table.names, table.every(instance), strict=True))
    values.update(changes)
    cls = type(instance)
    if cls.__init__ is not _init:
        return cls(**values)
    # Every field is there already: what __init__ would check holds; set them straight.
    copy: _T = cls.__new__(cls)
    copy.__dict__.update(values)
    if table.post_init:
        copy.__post_init__()  # type: ignore[attr-defined]
    return copy
