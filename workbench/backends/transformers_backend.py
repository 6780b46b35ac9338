"""Local Hugging Face causal LMs (hub ids, directories, GGUF files) behind the Backend protocol.

Option scoring is the hot path. For each request the prompt is rendered once and the options
are read off as few forward passes as their tokens allow: one pass over the context scores
every single-token option (single digits, or Gemma's "space, digit" after a shared space),
one pass over context + " 1" scores "1".."10", and options of several tokens need one pass per
distinct longest head (see ``_Encoded``); the result equals scoring each option as a full
continuation (lm-evaluation-harness style). Requests are batched by length under a token
budget so memory stays bounded.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from workbench.backends.base import (
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
from workbench.paths import cache_dir, cached_sha256, sha256_file

log = logging.getLogger(__name__)

CONVERTED_VERSION = "1"  # bump when the GGUF conversion cache format changes


def configure_threads() -> int:
    """Use every core for intra-op parallelism (torch defaults can leave cores idle)."""
    raw = os.environ.get("WORKBENCH_THREADS", "").strip()
    if raw and not raw.isdigit():
        raise WorkbenchError(
            f"WORKBENCH_THREADS must be a whole number of threads, got {raw!r}: unset it or "
            "set e.g. WORKBENCH_THREADS=2"
        )
    n = int(raw) if raw else os.cpu_count() or 1
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


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


class TransformersBackend:
    """A causal LM loaded with transformers; GGUF files are dequantised once and cached."""

    def __init__(
        self,
        spec: ModelSpec,
        dtype: str = "float32",
        trust_remote_code: bool = False,
        allow_pickle: bool = False,
        max_batch_tokens: int = 4096,
        device: str | None = None,
        prefix_cache: bool = True,
        min_prefix: int = 16,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # The workbench shows its own progress; transformers' per-load bars are noise.
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        configure_threads()
        self.spec = spec
        self.max_batch_tokens = max_batch_tokens
        self.prefix_cache = prefix_cache
        self.min_prefix = min_prefix
        self._kv_memo: tuple | None = None
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
            file_hash = _dir_hash(Path(spec.location))
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
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
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
            extra={"device": str(self.device), "threads": str(torch.get_num_threads())},
        )

    supports_logprobs = True

    # ----------------------------------------------------------------- loading helpers
    @staticmethod
    def _converted_dir(gguf_path: Path, file_hash: str) -> Path:
        """Dequantise a GGUF file once into safetensors; later loads take seconds, not a minute."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        target = cache_dir() / "converted" / f"{file_hash[:24]}-v{CONVERTED_VERSION}"
        if (target / "config.json").is_file() and (target / "DONE").is_file():
            return target
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
        """The exact prompt text the model sees (chat template when the model has one)."""
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
    @torch.inference_mode()
    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
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
                tails = self._tail_logprobs_prefixed(sequences, keep, prefix_len)
            else:
                tails = self._tail_logprobs(sequences, keep)
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

    def _prefix_kv(self, prefix: list[int]):
        """KV cache of a token prefix, memoised for the most recent prefix."""
        key = tuple(prefix)
        if self._kv_memo is None or self._kv_memo[0] != key:
            ids = torch.tensor([prefix], device=self.device)
            # Only the KV cache is needed: one logit row, not the LM head over every position
            # (for Gemma's 262k vocabulary that head costs more than the prefix itself).
            out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            self._kv_memo = (key, out.past_key_values)
        return self._kv_memo[1]

    def _tail_logprobs_prefixed(self, sequences: list[list[int]], keep: int,
                                prefix_len: int) -> torch.Tensor:
        """As :meth:`_tail_logprobs`, but the shared prefix runs once from a KV cache.

        Suffixes are left-padded after the cached prefix (the padding masked out, positions
        continuing from the prefix), so every row ends at the last column and the LM head
        runs on the last ``keep`` positions only, as in :meth:`_tail_logprobs`.
        """
        cache = copy.deepcopy(self._prefix_kv(sequences[0][:prefix_len]))
        suffixes = [s[prefix_len:] for s in sequences]
        rows, width = len(suffixes), max(len(s) for s in suffixes)
        keep = min(keep, width)
        ids = torch.full((rows, width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((rows, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        positions = torch.full((rows, width), prefix_len, dtype=torch.long)
        for row, suf in enumerate(suffixes):
            start = width - len(suf)
            ids[row, start:] = torch.tensor(suf)
            mask[row, prefix_len + start:] = 1
            positions[row, start:] = torch.arange(prefix_len, prefix_len + len(suf))
        cache.batch_repeat_interleave(rows)
        logits = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=keep,
        ).logits
        return torch.log_softmax(logits[:, -keep:].float(), dim=-1).cpu()

    def _tail_logprobs(self, sequences: list[list[int]], keep: int) -> torch.Tensor:
        """Log-softmax over the vocabulary at the last ``keep`` positions of each sequence.

        Left padding aligns every sequence's end, so the LM head runs only on the tail
        (``logits_to_keep``): the vocabulary projection dominates cost for small models.
        """
        width = max(len(s) for s in sequences)
        keep = min(keep, width)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(sequences), width), pad, dtype=torch.long)
        mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            logits_to_keep=keep,
        ).logits
        return torch.log_softmax(logits[:, -keep:].float(), dim=-1).cpu()

    # ----------------------------------------------------------------- generation
    @torch.inference_mode()
    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        texts: list[str] = []
        for req in requests:
            prompt = self.render(req.messages, req.assistant_prefix)
            ids = torch.tensor([self._encode_text(prompt)], device=self.device)
            kwargs: dict = {"max_new_tokens": req.max_new_tokens,
                            "pad_token_id": self.tokenizer.pad_token_id}
            if req.temperature > 0:
                torch.manual_seed(req.seed)
                kwargs.update(do_sample=True, temperature=req.temperature, top_k=0, top_p=1.0)
            else:
                kwargs.update(do_sample=False)
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
            texts.append(self.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
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


def _dir_hash(directory: Path) -> str:
    """Hash of the weight files in a model directory (sizes and names for big files, fast)."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*")):
        if path.suffix in {".safetensors", ".bin", ".json", ".model"} and path.is_file():
            digest.update(path.name.encode())
            digest.update(sha256_file(path).encode())
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
