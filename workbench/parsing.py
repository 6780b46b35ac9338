"""Parse free-text answers to a survey item into the option the model chose.

Generated text is untrusted: it is only matched with regular expressions and JSON parsing
(never evaluated). Refusals and unparseable answers are recorded with their own status
instead of being dropped, since refusal rates are themselves a result (Röttger et al. 2024).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

REFUSAL_PATTERNS = [
    r"\bas an ai\b", r"\bi(?:'m| am) an ai\b", r"\blanguage model\b",
    r"\bi (?:cannot|can't|can not|won't|will not|do not|don't) (?:answer|respond|provide|share|"
    r"choose|pick|select|give|express|have personal)",
    r"\bi (?:don't|do not) have (?:personal )?(?:opinions|beliefs|views|preferences|feelings)",
    r"\b(?:prefer|rather) not (?:to )?(?:answer|say|respond)",
    r"\bdecline to answer\b", r"\bno (?:personal )?opinion\b",
    # Spanish, German, French
    r"\bprefiero no (?:responder|contestar|decir)", r"\bno puedo (?:responder|contestar)",
    r"\bcomo (?:una )?(?:ia|inteligencia artificial)\b",
    r"\bich (?:möchte|kann) (?:nicht|keine) (?:antworten|beantworten|angabe)",
    r"\bals (?:eine )?ki\b", r"\bkeine angabe\b",
    r"\bje (?:préfère|prefere) ne pas répondre", r"\bje ne peux pas répondre",
]
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)


@dataclass(frozen=True)
class ParsedAnswer:
    position: int | None  # 0-based presented position, None if not parsed
    status: str  # ok | refusal | unparseable
    method: str  # json | key | label | refusal | none


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


def parse_answer(text: str, keys: tuple[str, ...] | list[str],
                 labels: tuple[str, ...] | list[str]) -> ParsedAnswer:
    """Map generated ``text`` to a presented position using the shown keys and labels.

    Tries, in order: a JSON object with an answer field; an explicit key ("4", "B", "(3)",
    "option 2", "I would choose 4"); a scale label in the item's language; a refusal phrase.
    Ambiguous text (two different keys, no clear first answer) is unparseable.
    """
    if text is None:
        return ParsedAnswer(None, "unparseable", "none")
    raw = str(text)[:2000]
    norm = _norm(raw)
    if not norm:
        return ParsedAnswer(None, "unparseable", "none")
    keys = [str(k) for k in keys]
    key_index = {k.casefold(): i for i, k in enumerate(keys)}

    # 1. JSON
    match = re.search(r"\{[^{}]{0,500}\}", raw)
    if match:
        try:
            obj = json.loads(match.group(0))
        except (ValueError, TypeError):
            obj = None
        if isinstance(obj, dict):
            for field in ("answer", "choice", "option", "response", "respuesta", "antwort"):
                if field in obj:
                    value = str(obj[field]).strip().casefold()
                    if value in key_index:
                        return ParsedAnswer(key_index[value], "ok", "json")
                    pos = _label_position(_norm(str(obj[field])), labels)
                    if pos is not None:
                        return ParsedAnswer(pos, "ok", "json")

    # 2. Explicit keys. Numbers are whole tokens; letters must stand alone or in (B) / B. / B)
    numeric = all(k.isdigit() for k in keys)
    if numeric:
        # A key stands at the start or after space/quote/markup, optionally in brackets;
        # "alert(1)" or "2023" are not answers.
        found = [m.group(1) for m in re.finditer(
            r"(?:^|(?<=[\s\"'*:#=]))[(\[]?(\d{1,2})(?![\d]|[.,]\d)", norm)]
    else:
        found = [m.group(1) for m in re.finditer(
            r"(?:^|[\s(\[\"'*:])([a-z])(?=$|[\s).\]\"'*:,])", norm)]
        # A bare article "a" is not an answer unless it is the whole reply or clearly marked.
        found = [f for f in found if f != "a" or re.search(r"(?:^|[(\[\"'*:])a(?:$|[).\]])", norm)
                 or norm in {"a", "a."}]
    found = [f for f in found if f in key_index]
    if found:
        cue = re.search(
            r"(?:answer|choose|choice|option|select|pick|go with|would say|respuesta|opción|"
            r"elijo|antwort|wähle|réponse|choisis)\D{0,20}?(\b\w{1,2}\b)", norm)
        if cue and cue.group(1) in key_index:
            return ParsedAnswer(key_index[cue.group(1)], "ok", "key")
        distinct = list(dict.fromkeys(found))
        if len(distinct) == 1 or _starts_with_key(norm, found[0]):
            return ParsedAnswer(key_index[found[0]], "ok", "key")

    # 3. Scale labels in the item's language (longest label first to avoid prefixes)
    pos = _label_position(norm, labels)
    if pos is not None:
        return ParsedAnswer(pos, "ok", "label")

    # 4. Refusals
    if _REFUSAL.search(norm):
        return ParsedAnswer(None, "refusal", "refusal")
    return ParsedAnswer(None, "unparseable", "none")


def _starts_with_key(norm: str, key: str) -> bool:
    return bool(re.match(rf"^[\s(\[\"'*]*{re.escape(key)}(?:$|[\s).\]:,\"'*])", norm))


def _label_position(norm: str, labels: tuple[str, ...] | list[str]) -> int | None:
    normalized = [_norm(lab) for lab in labels]
    hits = []
    for i, lab in sorted(enumerate(normalized), key=lambda p: -len(p[1])):
        if not lab:
            continue
        for m in re.finditer(rf"(?<!\w){re.escape(lab)}(?!\w)", norm):
            # Skip a label that sits inside a longer label already matched at that place.
            if not any(s <= m.start() and m.end() <= e for s, e, _ in hits):
                hits.append((m.start(), m.end(), i))
    if not hits:
        return None
    chosen = {i for _, _, i in hits}
    if len(chosen) == 1:
        return chosen.pop()
    first = min(hits)
    return first[2] if first[0] < 40 else None
