"""Local Hugging Face causal LMs (hub ids, directories, GGUF files) behind the Backend protocol.

Option scoring is the hot path. For each request the prompt is rendered once and the options
are read off as few forward passes as their tokens allow: one pass over the context scores
every single-token option (single digits, or Gemma's "space, digit" after a shared space),
one pass over context + " 1" scores "1".."10", and options of several tokens need one pass per
distinct longest head (see ``_Encoded``); the result equals scoring each option as a full
continuation (lm-evaluation-harness style). Requests are batched by length under a token
budget so memory stays bounded. The forward passes themselves (torch) are in
:mod:`workbench.backends.transformers_torch`, imported when a model loads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench import phases
from workbench.backends.base import (
    BackendOption,
    BaseBackend,
    GenerateRequest,
    Message,
    ModelInfo,
    ModelSpec,
    OptionScores,
    ScoreRequest,
    exclusive_logprobs,
    render_plain,
    split_trailing_spaces,
    wire_messages,
)
from workbench.errors import WorkbenchError
from workbench.paths import cache_dir, cached_sha256

log = logging.getLogger(__name__)

CONVERTED_VERSION = "1"  # bump when the GGUF conversion cache format changes
DEFAULT_DTYPE = "float32"


@dataclass
class _Encoded:
    """A request as tokens: what to run through the model and how to read each option off.

    An option's log-prob needs the next-token distributions after the context and after each
    of its proper prefixes. One forward pass over ``context + path`` yields the distributions
    after every prefix of ``path``, so the paths run are the longest proper prefixes of the
    options, minus those inside another: single-token options ("1".."5") need one pass over
    the context alone, "1".."10" (where " 10" is " 1" + "0") one pass over context + " 1",
    and labels of several tokens one pass per distinct longest head.
    """

    context: list[int]
    conts: list[list[int]]  # full continuation tokens per option
    paths: list[list[int]]  # token sequences run after the context, one forward pass each
    path_of: list[int]  # for each option, the path whose prefixes cover it


class TransformersBackend(BaseBackend):
    """A causal LM loaded with transformers; GGUF files are dequantised once and cached."""

    name = "transformers"
    options = {
        "dtype": BackendOption((str,), "float32 (default) | bfloat16 | float16: weights and "
                               "KV cache; logits and log-softmax stay float32"),
        "trust_remote_code": BackendOption((bool,), "let model repositories run their own code"),
        "allow_pickle": BackendOption((bool,), "allow pickled (.bin/.pt) checkpoints"),
        "max_batch_tokens": BackendOption((int,), "token budget of one forward batch"),
        "device": BackendOption((str, type(None)), "cpu | cuda | cuda:1 ..."),
        "prefix_cache": BackendOption((bool,), "reuse the KV cache of a shared prompt prefix"),
        "min_prefix": BackendOption((int,), "shortest shared prefix worth caching (tokens)"),
    }

    @classmethod
    def fingerprint_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        """``sha256:<file>`` for a GGUF file, ``dir-sha256:<files>`` for a directory,
        ``hub:<id>`` for a hub id; a non-default ``dtype`` is appended with the float32 head
        (``;dtype=bfloat16;logits=float32``): bfloat16 answers are other numbers and must not
        be served from the float32 cache, nor from one made before the head stayed float32."""
        if spec.source == "gguf":
            base = "sha256:" + cached_sha256(Path(spec.location))
        elif spec.source == "dir":
            base = "dir-sha256:" + dir_hash(Path(spec.location))
        else:
            base = f"hub:{spec.location}"
        dtype = options.get("dtype") or DEFAULT_DTYPE
        return base if dtype == DEFAULT_DTYPE else f"{base};dtype={dtype};logits=float32"

    @classmethod
    def key_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        """A non-default dtype is another model to compare: ``smollm2-135m-bfloat16``."""
        dtype = options.get("dtype") or DEFAULT_DTYPE
        return spec.key if dtype == DEFAULT_DTYPE else f"{spec.key}-{dtype}"

    def __init__(
        self,
        spec: ModelSpec,
        dtype: str = DEFAULT_DTYPE,
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
        max_batch_tokens: int = 4096,
        device: str | None = None,
        prefix_cache: bool = True,
        min_prefix: int = 16,
    ) -> None:
        import torch  # here, not at the top: see workbench.backends.transformers_torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from workbench.backends.transformers_torch import (
            TorchRunner,
            bf16_units,
            configure_threads,
            use_float32_head,
        )

        super().__init__(spec, {"dtype": dtype, "trust_remote_code": trust_remote_code,
                                "allow_pickle": allow_pickle, "max_batch_tokens": max_batch_tokens,
                                "device": device, "prefix_cache": prefix_cache,
                                "min_prefix": min_prefix})
        # The workbench shows its own progress; transformers' per-load bars are noise.
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        configure_threads()
        self.max_batch_tokens = max_batch_tokens
        self.prefix_cache = prefix_cache
        self.min_prefix = min_prefix
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise WorkbenchError(f"unknown dtype '{dtype}': use float32, bfloat16 or float16")
        file_hash = None
        revision = None
        load_kwargs: dict = {"trust_remote_code": trust_remote_code}
        if spec.source == "gguf":
            path = Path(spec.location)
            file_hash = cached_sha256(path)
            where = self._converted_dir(path, file_hash)
            load_from, gguf_kwargs = str(where), {}
        elif spec.source == "dir":
            load_from, gguf_kwargs = spec.location, {}
            self._check_weights_format(Path(spec.location), allow_pickle)
            file_hash = dir_hash(Path(spec.location))
            if not allow_pickle:
                # A stray *.safetensors (an adapter, say) must not let transformers fall
                # back to a pickled checkpoint beside it.
                load_kwargs["use_safetensors"] = True
        else:  # hub
            load_from, gguf_kwargs = spec.location, {}
            if not allow_pickle:
                load_kwargs["use_safetensors"] = True
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(load_from, **gguf_kwargs, **load_kwargs)
            self.model = AutoModelForCausalLM.from_pretrained(
                load_from, dtype=torch_dtype, **gguf_kwargs, **load_kwargs
            )
        except WorkbenchError:
            raise
        except (OSError, ValueError) as exc:
            raise WorkbenchError(_explain_load_error(spec, exc)) from exc
        self.model.to(self.device)
        self.model.eval()
        extra = {"device": str(self.device), "threads": str(torch.get_num_threads())}
        if torch_dtype in (torch.bfloat16, torch.float16):
            # Weights, activations and KV cache in half precision; logits, log-softmax and the
            # sums over an option's tokens in float32 (see Float32Head).
            extra["lm_head"] = "float32" if use_float32_head(self.model) else dtype
            if self.device.type == "cpu" and torch_dtype == torch.bfloat16 and not bf16_units():
                log.warning("this CPU has no bfloat16 units (AMX-BF16/AVX512-BF16): bfloat16 "
                            "runs slower than float32 here (README 'Speed')")
                extra["bf16_units"] = "no"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._runner = TorchRunner(self.model, self.tokenizer.pad_token_id, self.device)
        self.has_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        template_hash = (
            hashlib.sha256(self.tokenizer.chat_template.encode()).hexdigest()[:16]
            if self.has_chat_template
            else None
        )
        self.info = ModelInfo(
            key=spec.key,
            model_id=spec.model_id,
            backend="transformers",
            file_hash=file_hash,
            dtype=dtype,
            revision=revision,
            chat_template_hash=template_hash,
            extra=extra,
            fingerprint=self.fingerprint(),
        )

    def close(self) -> None:
        """Drop the weights and the prefix cache so their memory can be freed."""
        import torch

        super().close()
        self._runner.close()
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ----------------------------------------------------------------- loading helpers
    @staticmethod
    def _converted_dir(gguf_path: Path, file_hash: str) -> Path:
        """Dequantise a GGUF file once into safetensors; later loads take seconds, not a minute."""
        target = cache_dir() / "converted" / f"{file_hash[:24]}-v{CONVERTED_VERSION}"
        if (target / "config.json").is_file() and (target / "DONE").is_file():
            return target
        with phases.timed("GGUF conversion", gguf_path.name):
            return TransformersBackend._convert(gguf_path, file_hash, target)

    @staticmethod
    def _convert(gguf_path: Path, file_hash: str, target: Path) -> Path:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            spec = ModelSpec(gguf_path.stem, "gguf", str(gguf_path), gguf_path.name)
            raise WorkbenchError(_explain_load_error(spec, exc)) from exc
        tmp.mkdir(parents=True)
        # The weights are already dequantised to float32; drop the GGUF marker so they save.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE").write_text(f"{gguf_path}\nsha256={file_hash}\n")
        (tmp / "DONE").write_text("ok\n")
        if target.exists():  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(target)
        return target

    @staticmethod
    def _check_weights_format(directory: Path, allow_pickle: bool) -> None:
        if not (directory / "config.json").is_file():
            raise WorkbenchError(
                f"model directory '{directory}' has no config.json: point --model at a saved "
                "transformers model directory"
            )
        safe = list(directory.glob("*.safetensors"))
        pickled = [p for p in directory.glob("*.bin")] + list(directory.glob("*.pt"))
        if not safe and pickled and not allow_pickle:
            raise WorkbenchError(
                f"model directory '{directory}' holds only pickled weights ({pickled[0].name}); "
                "pickles can run code when loaded. Convert to safetensors, or pass "
                "allow_pickle=True (--allow-pickle) if you trust the file"
            )

    # ----------------------------------------------------------------- rendering
    def render(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        """The exact prompt text the model sees (its chat template, else plain)."""
        if self.has_chat_template:
            text = self.tokenizer.apply_chat_template(
                wire_messages(messages), tokenize=False, add_generation_prompt=True)
            return text + assistant_prefix
        return render_plain(messages, assistant_prefix)

    def _encode_text(self, text: str) -> list[int]:
        # A chat template writes its own special tokens; plain prompts get the tokenizer's BOS.
        return self.tokenizer(text, add_special_tokens=not self.has_chat_template).input_ids

    def _encode(self, request: ScoreRequest) -> _Encoded:
        context_text = self.render(request.messages, request.assistant_prefix)
        stripped, moved = split_trailing_spaces(context_text)
        context = self._encode_text(stripped)
        conts: list[list[int]] = []
        for option in request.options:
            whole = self._encode_text(stripped + moved + option)
            if whole[: len(context)] == context and len(whole) > len(context):
                conts.append(whole[len(context) :])
            else:
                piece = self.tokenizer(moved + option, add_special_tokens=False).input_ids
                if not piece:
                    raise WorkbenchError(f"option {option!r} tokenises to nothing")
                conts.append(piece)
        heads = [tuple(c[:-1]) for c in conts]
        paths: list[tuple[int, ...]] = []
        for head in sorted(set(heads), key=len, reverse=True):
            if not any(p[: len(head)] == head for p in paths):
                paths.append(head)
        path_of = [next(k for k, p in enumerate(paths) if p[: len(h)] == h) for h in heads]
        return _Encoded(context, conts, [list(p) for p in paths], path_of)

    # ----------------------------------------------------------------- scoring
    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        self.check_open()
        encoded = [self._encode(r) for r in requests]
        # A job is (request, path, tokens = context + path, length of the path).
        jobs: list[tuple[int, int, list[int], int]] = [
            (i, k, enc.context + path, len(path))
            for i, enc in enumerate(encoded) for k, path in enumerate(enc.paths)]
        values = [[0.0] * len(enc.conts) for enc in encoded]
        for batch, prefix_len in self._plan(jobs):
            keep = max(n for *_, n in batch) + 1
            sequences = [tokens for _, _, tokens, _ in batch]
            if prefix_len:
                tails = self._runner.tail_logprobs_prefixed(sequences, keep, prefix_len)
            else:
                tails = self._runner.tail_logprobs(sequences, keep)
            for (i, k, _, n), tail in zip(batch, tails, strict=True):
                # tail[keep - 1 - (n - d)] is the distribution after the context and the
                # first d tokens of the path (d = n: after the whole sequence).
                enc = encoded[i]
                for j, cont in enumerate(enc.conts):
                    if enc.path_of[j] == k:
                        values[i][j] = sum(float(tail[keep - 1 - (n - d), token])
                                           for d, token in enumerate(cont))
        results = []
        for enc, request, lps in zip(encoded, requests, values, strict=True):
            scores = tuple(lps)
            if request.exclusive:  # a no-op unless one option's tokens begin another's
                scores = exclusive_logprobs(enc.conts, scores)
            results.append(OptionScores(scores, tuple(len(c) for c in enc.conts)))
        return results

    def _plan(self, jobs: list) -> list[tuple[list, int]]:
        """Batches of jobs, each with the length of a shared token prefix to run once (0: none).

        Sorting token sequences clusters requests that share a system/persona/instruction
        prefix; that prefix's KV cache is computed once and reused for the whole group.
        """
        if not self.prefix_cache or len(jobs) < 2:
            return [(b, 0) for b in _length_batches(jobs, self.max_batch_tokens)]
        ordered = sorted(jobs, key=lambda j: j[2])
        groups: list[tuple[list, int]] = []
        current: list = []
        shared = 0
        for job in ordered:
            limit = len(job[2]) - job[3] - 1  # the suffix must hold every scored position
            if current:
                common = min(_common_prefix(current[0][2], job[2], shared), limit)
                # Stop merging when the shared part would shrink a lot (keep long prefixes).
                if common >= self.min_prefix and not (len(current) >= 4 and common < shared - 8):
                    current.append(job)
                    shared = common
                    continue
                groups.append((current, shared))
            current, shared = [job], limit
        if current:
            groups.append((current, shared))
        plan: list[tuple[list, int]] = []
        for group, shared in groups:
            if len(group) < 2 or shared < self.min_prefix:
                plan += [(b, 0) for b in _length_batches(group, self.max_batch_tokens)]
                continue
            suffix_jobs = [(i, j, tokens[shared:], n) for i, j, tokens, n in group]
            # Every row gets its own copy of the prefix's KV cache: count it in the budget.
            for b in _length_batches(suffix_jobs, self.max_batch_tokens, offset=shared):
                ids = {id(x) for x in b}
                full = [g for g, sj in zip(group, suffix_jobs, strict=True) if id(sj) in ids]
                plan.append((full, shared))
        return plan

    # ----------------------------------------------------------------- generation
    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        self.check_open()
        texts: list[str] = []
        for req in requests:
            prompt = self._encode_text(self.render(req.messages, req.assistant_prefix))
            new = self._runner.generate(prompt, req.max_new_tokens, req.temperature, req.seed)
            texts.append(self.tokenizer.decode(new, skip_special_tokens=True))
        return texts


def _length_batches(jobs: list, max_tokens: int, offset: int = 0) -> list[list]:
    """Group jobs of similar length so padding is small and each batch fits the token budget.

    ``offset`` tokens per row are held besides the job's own (a shared prefix's KV cache).
    """
    ordered = sorted(jobs, key=lambda j: len(j[2]))
    batches: list[list] = []
    current: list = []
    for job in ordered:
        width = offset + max([len(job[2])] + [len(j[2]) for j in current])
        if current and width * (len(current) + 1) > max_tokens:
            batches.append(current)
            current = []
        current.append(job)
    if current:
        batches.append(current)
    return batches


def _common_prefix(a: list[int], b: list[int], limit: int) -> int:
    n = min(len(a), len(b), limit) if limit else min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def dir_hash(directory: Path) -> str:
    """Hash of a model directory: the names and sha256 of its weight, config and tokenizer
    files (``.safetensors``, ``.bin``, ``.json``, ``.model``), each hashed once per process."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*")):
        if path.suffix in {".safetensors", ".bin", ".json", ".model"} and path.is_file():
            digest.update(path.name.encode())
            digest.update(cached_sha256(path).encode())
    return digest.hexdigest()


def _explain_load_error(spec: ModelSpec, exc: Exception) -> str:
    text = str(exc)
    if "architecture" in text and ("not supported" in text or "GGUF" in text):
        return (
            f"cannot load '{spec.location}': {text.splitlines()[0].rstrip('. ')}; transformers can "
            "read GGUF files only for the architectures it lists; use a supported model or serve "
            "this one with llama.cpp and use --model openai:<name>@<url>"
        )
    if spec.source == "hub":
        return (
            f"cannot load '{spec.location}' from the hub ({text.splitlines()[0][:200]}): check "
            "the id and your network, or download it and pass the local directory"
        )
    return f"cannot load model '{spec.location}': {text.splitlines()[0][:300]}"
