"""The torch side of the local backend: threads, forward passes over token ids, generation.

Why a module of its own: importing torch takes seconds, and the backend class (its options,
the model identity, prompts and tokens) is read by every probe run, also by a rerun that
finds every answer stored and loads nothing. :class:`TorchRunner` is made only when a model
loads.
"""

from __future__ import annotations

import copy
import inspect
import os

import torch

from workbench.errors import WorkbenchError


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


def bf16_units() -> bool:
    """Whether this CPU has bfloat16 matrix/dot-product units (AMX-BF16 or AVX512-BF16).

    Without them (e.g. AVX2-only CPUs such as AMD Zen 3) torch has no fast bf16 matmul:
    measured here, a 768x576 @ 576x1536 product took 664 ms in bf16 against 57 ms in
    float32 (README "Speed"), so bfloat16 is only worth choosing where this is True.
    """
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))


class Float32Head(torch.nn.Module):
    """The LM head in float32 on a half-precision model: logits keep float32 resolution.

    Why: a bfloat16 logit has 8 significant bits, so a logit near 16 is rounded to a multiple
    of 0.125 before the log-softmax, an error of up to 6% in an option's probability. The head
    runs only on the scored positions (``logits_to_keep``), so float32 costs little there.
    """

    def __init__(self, head: torch.nn.Linear) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(head.weight.detach().float().clone(),
                                         requires_grad=False)
        self.bias = (None if head.bias is None else
                     torch.nn.Parameter(head.bias.detach().float().clone(), requires_grad=False))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(hidden.float(), self.weight, self.bias)


def use_float32_head(model: torch.nn.Module) -> bool:
    """Swap a half-precision model's LM head for :class:`Float32Head` (a tied head gets its own
    float32 copy, the input embedding stays in half precision); False when there is no
    ``lm_head`` linear layer to swap."""
    head = getattr(model, "lm_head", None)
    if not isinstance(head, torch.nn.Linear) or head.weight.dtype == torch.float32:
        return False
    model.lm_head = Float32Head(head)
    return True


def _cache_argument(model: torch.nn.Module) -> str:
    """The name the model's ``forward`` takes a KV cache under.

    transformers 5.x renamed ``past_key_values`` to ``cache`` (the old name still works with a
    FutureWarning until its removal); the project allows any 5.x, so ask the signature.
    """
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class TorchRunner:
    """Forward passes of one loaded causal LM: log-softmax at the tail of left-padded rows,
    optionally continuing a shared prefix's KV cache, and generation."""

    def __init__(self, model: torch.nn.Module, pad_token_id: int, device: torch.device) -> None:
        self.model = model
        self.pad_token_id = pad_token_id
        self.device = device
        self.cache_argument = _cache_argument(model)
        self._kv_memo: tuple | None = None

    def _prefix_kv(self, prefix: list[int]):
        """KV cache of a token prefix, memoised for the most recent prefix."""
        key = tuple(prefix)
        if self._kv_memo is None or self._kv_memo[0] != key:
            ids = torch.tensor([prefix], device=self.device)
            # Only the KV cache is needed: one logit row, not the LM head over every position
            # (for Gemma's 262k vocabulary that head costs more than the prefix itself).
            out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            self._kv_memo = (key, out[self.cache_argument])  # outputs use the same name
        return self._kv_memo[1]

    @torch.inference_mode()
    def tail_logprobs_prefixed(self, sequences: list[list[int]], keep: int,
                               prefix_len: int) -> torch.Tensor:
        """As :meth:`tail_logprobs`, but the shared prefix runs once from a KV cache.

        Suffixes are left-padded after the cached prefix (the padding masked out, positions
        continuing from the prefix), so every row ends at the last column and the LM head
        runs on the last ``keep`` positions only, as in :meth:`tail_logprobs`.
        """
        cache = copy.deepcopy(self._prefix_kv(sequences[0][:prefix_len]))
        suffixes = [s[prefix_len:] for s in sequences]
        rows, width = len(suffixes), max(len(s) for s in suffixes)
        keep = min(keep, width)
        ids = torch.full((rows, width), self.pad_token_id, dtype=torch.long)
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
            use_cache=True,
            logits_to_keep=keep,
            **{self.cache_argument: cache},
        ).logits
        return torch.log_softmax(logits[:, -keep:].float(), dim=-1).cpu()

    @torch.inference_mode()
    def tail_logprobs(self, sequences: list[list[int]], keep: int) -> torch.Tensor:
        """Log-softmax over the vocabulary at the last ``keep`` positions of each sequence.

        Left padding aligns every sequence's end, so the LM head runs only on the tail
        (``logits_to_keep``): the vocabulary projection dominates cost for small models.
        """
        width = max(len(s) for s in sequences)
        keep = min(keep, width)
        ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
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

    @torch.inference_mode()
    def generate(self, prompt_ids: list[int], max_new_tokens: int, temperature: float,
                 seed: int) -> list[int]:
        """The new token ids after ``prompt_ids``: greedy at temperature 0, else sampled from
        the full distribution (no top-k/top-p) with ``seed``."""
        ids = torch.tensor([prompt_ids], device=self.device)
        kwargs: dict = {"max_new_tokens": max_new_tokens, "pad_token_id": self.pad_token_id}
        if temperature > 0:
            torch.manual_seed(seed)
            kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            kwargs.update(do_sample=False)
        out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        return out[0, ids.shape[1] :].tolist()

    def close(self) -> None:
        self._kv_memo = None
        self.model = None  # type: ignore[assignment]
