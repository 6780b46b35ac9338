"""Finding and loading models: registry names, hub ids, local directories, GGUF files, servers.

``load_model("smollm2-135m")`` gives a :class:`~workbench.backends.base.BaseBackend`, made by
the backend registry (:mod:`workbench.backends.registry`). Embedded
default models live inside PyPI packages; their files are located through
``importlib.metadata`` (never by absolute path).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata as md
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from workbench import phases
from workbench.backends.base import BaseBackend, ModelSpec
from workbench.backends.registry import load_backend, server_prefixes
from workbench.errors import WorkbenchError
from workbench.paths import cache_dir, data_dir


@dataclass(frozen=True)
class ModelEntry:
    key: str
    description: str
    kind: str  # pypi_gguf | pypi_gguf_chunks | hub
    default: bool = False
    distribution: str | None = None
    module: str | None = None
    file: str | None = None
    model_id: str | None = None
    license: str | None = None
    upstream: str | None = None


def registry() -> list[ModelEntry]:
    raw = yaml.safe_load((data_dir() / "models" / "registry.yaml").read_text(encoding="utf-8"))
    return [ModelEntry(**m) for m in raw["models"]]


def default_model_keys() -> list[str]:
    return [m.key for m in registry() if m.default]


def is_installed(entry: ModelEntry) -> bool:
    if entry.kind == "hub":
        return True
    try:
        md.distribution(entry.distribution or "")
    except md.PackageNotFoundError:
        return False
    return True


def embedded_gguf_path(entry: ModelEntry) -> Path:
    """The GGUF file of an embedded model, assembling chunked packages into the cache once."""
    if not is_installed(entry):
        raise WorkbenchError(
            f"model '{entry.key}' needs the package '{entry.distribution}': run `make setup` "
            f"(or pip install {entry.distribution})"
        )
    if entry.kind == "pypi_gguf":
        path = Path(str(md.distribution(entry.distribution).locate_file(entry.file)))
        if not path.is_file():
            raise WorkbenchError(
                f"package '{entry.distribution}' is installed but lacks {entry.file}: reinstall it"
            )
        return path
    if entry.kind == "pypi_gguf_chunks":
        module = importlib.import_module(entry.module)
        target = cache_dir() / "gguf" / entry.file
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".partial")
            with phases.timed("GGUF assembly", entry.file):
                module.assemble(tmp, overwrite=True)  # verifies the package's published sha256
            tmp.replace(target)
        return target
    raise WorkbenchError(f"model '{entry.key}' of kind '{entry.kind}' has no GGUF file")


def resolve_model(spec: str) -> ModelSpec:
    """Turn a user's model string into a :class:`ModelSpec`.

    Accepted: a registry key (``smollm2-135m``), a ``.gguf`` file, a local model directory,
    a hub id (``org/name``), or ``openai:<model>@<base_url>`` for an OpenAI-compatible server.
    Any of them may be prefixed with ``name=`` to store its answers under that name (two
    checkpoints both called ``final``: ``--model run1=ckpt/a/final,run2=ckpt/b/final``).
    """
    spec = spec.strip()
    if not spec:
        raise WorkbenchError("empty model name: give a registry key, a path or a hub id")
    alias, sep, rest = spec.partition("=")
    if sep and _ALIAS.fullmatch(alias):
        if not rest.strip():
            raise WorkbenchError(f"model '{spec}' names '{alias}' but gives no model after '='")
        return dataclasses.replace(resolve_model(rest), key=safe_name(alias))
    by_key = {m.key: m for m in registry()}
    if spec in by_key:
        entry = by_key[spec]
        if entry.kind == "hub":
            return ModelSpec(entry.key, "hub", entry.model_id or "", entry.model_id or "")
        path = embedded_gguf_path(entry)
        return ModelSpec(entry.key, "gguf", str(path), entry.upstream or entry.key)
    prefix, colon, body = spec.partition(":")
    if colon and prefix in server_prefixes():
        model, _, url = body.partition("@")
        if not model or not url:
            raise WorkbenchError(
                f"server model '{spec}' must look like {prefix}:<model>@<base_url>, "
                f"e.g. {prefix}:llama@http://127.0.0.1:8080/v1"
            )
        return ModelSpec(safe_name(model), prefix, url, model, server_model=model)
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        if not path.is_file():
            raise WorkbenchError(f"GGUF file '{spec}' does not exist: check the path")
        return ModelSpec(safe_name(path.stem), "gguf", str(path.resolve()), path.name)
    if path.exists():
        if not path.is_dir():
            raise WorkbenchError(
                f"model path '{spec}' is a file but not a .gguf: give a model directory "
                "(config.json + safetensors) or a .gguf file"
            )
        return ModelSpec(safe_name(path.name), "dir", str(path.resolve()), str(path.resolve()))
    looks_like_path = spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") != 1
    if looks_like_path:
        raise WorkbenchError(
            f"model path '{spec}' does not exist: check the path (a model directory with "
            "config.json + safetensors, or a .gguf file), or use a registry key "
            f"({', '.join(by_key)}) or a hub id like org/name"
        )
    if spec.count("/") != 1:
        close = difflib.get_close_matches(spec, list(by_key), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise WorkbenchError(
            f"unknown model '{spec}'{hint}: use a registry key ({', '.join(by_key)}), "
            "an existing directory or .gguf file, or a hub id like org/name"
        )
    return ModelSpec(safe_name(spec), "hub", spec, spec)


_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # no "/", ":" or "@": never a path or URL
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-name-safe form of a model id: no separators, no '..', no leading dot."""
    cleaned = _SAFE.sub("_", name).strip("._") or "model"
    return cleaned.replace("..", "_")[:120]


def load_model(spec: str, **options: object) -> BaseBackend:
    """Load a model by name/path/id and return its backend (a context manager: ``close()``
    releases weights or connections).

    Options go to the backend, e.g. ``dtype="float32"``, ``trust_remote_code=False``,
    ``allow_pickle=False``, ``api_key_env="OPENAI_API_KEY"``. Options of another backend
    (server options for a local model and vice versa) are ignored, so one option set serves
    a design that mixes local and server models; a name no backend takes is an error.
    """
    return load_backend(resolve_model(spec), options)
