"""Which backend serves which model, imported only when it is used.

Why lazy: a backend module pulls its heavy libraries in (the server backend httpx, the
local one transformers and torch when it loads a model), and a design that uses one of them
must not pay for the other. Entries are ``"module:Class"`` strings, as in
lm-evaluation-harness's ``register_model(..., lazy=...)``. Adding a backend is one module with
a :class:`~workbench.backends.base.BaseBackend` subclass and one :func:`register` line below.

Everything the probe needs before a model loads goes through here: which options exist
(:func:`check_backend_options`), the model's identity (:func:`fingerprint`) and the name its
answers are stored under (:func:`store_key`).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from workbench.backends.base import BackendOption, BaseBackend, ModelSpec
from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: its name, where its class is, and the model sources it loads.

    ``sources`` are :attr:`ModelSpec.source` values. For a server backend (``server=True``)
    each source is also the prefix of a model string ``<source>:<model>@<base_url>``.
    """

    name: str
    lazy: str  # "package.module:Class"
    sources: tuple[str, ...]
    server: bool = False


_ENTRIES: dict[str, BackendEntry] = {}


def register(name: str, *, lazy: str, sources: tuple[str, ...], server: bool = False
             ) -> BackendEntry:
    """Add a backend; a name or source that is taken already is a programming error."""
    module, sep, attr = lazy.partition(":")
    if not (module and sep and attr):
        raise ValueError(f"backend '{name}': lazy must be 'module:Class', got {lazy!r}")
    taken = {s for e in _ENTRIES.values() for s in e.sources} & set(sources)
    if name in _ENTRIES or taken:
        raise ValueError(f"backend '{name}' or source(s) {sorted(taken)} registered twice")
    entry = BackendEntry(name, lazy, tuple(sources), server)
    _ENTRIES[name] = entry
    return entry


register("transformers", lazy="workbench.backends.transformers_backend:TransformersBackend",
         sources=("gguf", "dir", "hub"))
register("openai", lazy="workbench.backends.openai.backend:OpenAIBackend",
         sources=("openai",), server=True)


def entries() -> list[BackendEntry]:
    return list(_ENTRIES.values())


def server_prefixes() -> tuple[str, ...]:
    """Model-string prefixes of server backends (``openai`` for ``openai:<model>@<url>``)."""
    return tuple(s for e in _ENTRIES.values() if e.server for s in e.sources)


def backend_class(name: str) -> type[BaseBackend]:
    """The class of a registered backend, importing its module now."""
    if name not in _ENTRIES:
        raise WorkbenchError(f"unknown backend '{name}': registered are {', '.join(_ENTRIES)}")
    module, _, attr = _ENTRIES[name].lazy.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    if not (isinstance(cls, type) and issubclass(cls, BaseBackend)):
        raise TypeError(f"backend '{name}' ({_ENTRIES[name].lazy}) is not a BaseBackend")
    return cls


def class_for(spec: ModelSpec) -> type[BaseBackend]:
    """The backend class that loads ``spec`` (by its source)."""
    for entry in _ENTRIES.values():
        if spec.source in entry.sources:
            return backend_class(entry.name)
    raise WorkbenchError(f"no backend loads models of source '{spec.source}' ({spec.location})")


def known_options() -> dict[str, BackendOption]:
    """Every backend's options (imports every backend module, none of them loads a model)."""
    known: dict[str, BackendOption] = {}
    for entry in _ENTRIES.values():
        known.update(backend_class(entry.name).options)
    return known


_TYPE_WORDS = {str: "a string", bool: "true or false", int: "an integer", float: "a number",
               type(None): "null"}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "a mapping", type(None): "null"}.get(type(value), type(value).__name__)


def check_backend_options(options: Mapping[str, object]) -> dict[str, object]:
    """Names and value types of backend options (``--backend-option KEY=VALUE``).

    One option set serves a design that mixes backends, so a name is valid when any backend
    takes it. Raises :class:`WorkbenchError` naming the valid options, or the type a value
    needs.
    """
    if not options:
        return {}
    known = known_options()
    for name, value in options.items():
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise WorkbenchError(
                f"unknown backend option '{name}'{hint}: valid options are "
                f"{', '.join(sorted(known))} (see docs/servers.md)"
            )
        option = known[name]
        types = option.types
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            words = [_TYPE_WORDS[t] for t in types if not (t is int and float in types)]
            want = " or ".join(dict.fromkeys(words))
            raise WorkbenchError(
                f"backend option '{name}' ({option.help}) must be {want}, got {value!r} "
                f"({_kind(value)}): write e.g. --backend-option {name}=..."
            )
    return dict(options)


def load_backend(spec: ModelSpec, options: Mapping[str, object]) -> BaseBackend:
    """The backend for ``spec``, given only the options it takes (a local model ignores
    server options and vice versa; a name no backend takes is an error)."""
    check_backend_options(options)
    cls = class_for(spec)
    return cls(spec, **{k: v for k, v in options.items() if k in cls.options})


def fingerprint(spec: ModelSpec, options: Mapping[str, object] | None = None) -> str:
    """The identity of the model ``spec`` names, known before loading (see
    :meth:`BaseBackend.fingerprint_for`)."""
    return class_for(spec).fingerprint_for(spec, options or {})


def store_key(spec: ModelSpec, options: Mapping[str, object] | None = None) -> str:
    """The name answers of ``spec`` are stored under (see :meth:`BaseBackend.key_for`)."""
    return class_for(spec).key_for(spec, options or {})
