"""Parse free-text answers to a survey item into the option the model chose.

Generated text is untrusted: it is only matched with regular expressions and JSON parsing
(never evaluated). Refusals and unparseable answers are recorded with their own status
instead of being dropped, since refusal rates are themselves a result (Röttger et al. 2024).

Order of the checks (each a small function below):

1. a JSON object with an answer field (``{"answer": 4}``, ``{"answer": 4.0}``);
2. an *explicit* key: one named right after a non-negated cue ("I'd go with C",
   "Answer: (B)", "..., so 3"; "I cannot choose 1" is not a cue) or one that opens the reply;
3. a *declining* phrase ("I cannot choose", "Sorry, I can't help", "No puedo responder"):
   a refusal, because keys or labels that follow it only echo the scale;
4. the one distinct key named anywhere;
5. a scale label in the item's language. A label right after a negation ("I do *not* agree",
   "*No* estoy de acuerdo") does not count as that label; labels that contain a negation
   themselves ("Does not describe me at all", "Not at all important") match as a whole;
6. a *disclaimer* ("As an AI ...", "I don't have personal opinions"): a refusal when no
   answer was found above;
7. otherwise unparseable (ambiguous or no answer).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

# Phrases that decline to answer. They win over any key or label in the text, except an
# explicit (cued or leading) key. Matched on normalised text (casefolded, "can't" -> "can not").
DECLINE_PATTERNS = [
    r"\b(?:can not|could not|will not|unable to|not able to|do not want to|not comfortable|"
    r"not in a position to)\s+(?:[\w']+\s+){0,2}?(?:answer|respond|reply|choose|pick|select|"
    r"give|provide|share|express|help|assist|comply|rate|take)\b",
    r"\b(?:prefer|rather) not (?:to )?(?:answer|say|respond|share)",
    r"\bdecline to (?:answer|respond|choose)",
    # Spanish, German, French
    r"\bprefiero no (?:responder|contestar|decir|opinar)",
    r"\bno (?:puedo|voy a|me es posible|estoy en condiciones de) (?:\w+ ){0,2}?(?:responder|"
    r"contestar|elegir|escoger|dar|ofrecer|proporcionar|expresar|opinar|ayudar|seleccionar)",
    r"\bich (?:möchte|kann|werde) (?:\w+ )?(?:nicht|keine) (?:\w+ ){0,2}?(?:antworten|"
    r"beantworten|angabe|wählen|auswählen)",
    r"\bkeine angabe\b",
    r"\bje (?:préfère|prefere) ne pas répondre",
    r"\bje ne (?:peux|souhaite|vais) pas (?:\w+ )?(?:répondre|choisir|donner|exprimer)",
]
# Disclaimers about being an AI or having no opinion: a refusal only if no answer is found.
DISCLAIMER_PATTERNS = [
    r"\bas an? (?:ai|artificial intelligence|(?:large )?language model|llm)\b",
    r"\bi(?:'m| am) (?:just |only )?an? (?:ai|artificial intelligence)\b",
    r"\blanguage model\b",
    r"\bdo not have (?:any )?(?:personal )?(?:opinions|beliefs|views|preferences|feelings)",
    r"\bno (?:personal )?opinion\b",
    r"\bcomo (?:una? )?(?:ia|inteligencia artificial|modelo de (?:lenguaje|ia))\b",
    r"\bmodelo de lenguaje\b",
    r"\bno tengo (?:\w+ )?(?:opiniones|creencias|preferencias|sentimientos)",
    r"\bals (?:eine )?ki\b", r"\bsprachmodell\b",
    r"\bich habe keine (?:persönliche )?meinung",
    r"\ben tant qu'(?:ia|intelligence artificielle|modèle de langage)",
    r"\bje n'ai pas d'opinion",
]
REFUSAL_PATTERNS = DECLINE_PATTERNS + DISCLAIMER_PATTERNS  # kept for callers that list them
_DECLINE = re.compile("|".join(DECLINE_PATTERNS))
_DISCLAIMER = re.compile("|".join(DISCLAIMER_PATTERNS))

# Words that negate what follows within two words ("not agree", "no estoy de acuerdo",
# "not really agree", "not think most people can be trusted"). Punctuation ends the reach:
# "No, I agree" is not negated.
_NEGATOR = r"(?:not|never|no|nunca|jamás|nicht|nie|kein\w*|pas)"
_NEGATED_BEFORE = re.compile(rf"\b{_NEGATOR}(?:\s+[\w']+){{0,2}}\s+$")
_NEGATED_RIGHT_BEFORE = re.compile(rf"\b{_NEGATOR}\s+[(\[\"'*]*$")

# Words that introduce the chosen key. Matched case-insensitively on the cleaned text.
_CUE = re.compile(
    r"\b(?:answer(?: is)?|my choice|choice|choose|chose|option|select|pick|go with|go for|"
    r"(?:'d|would|'ll|will|let's|i) say|rate it|rating|lean(?:ing)? towards?|respuesta|opción|"
    r"elijo|escojo|elegiría|escogería|me quedo con|antwort|wähle|réponse|choisis|choisirais)\b",
    re.IGNORECASE)
# Words that conclude a hedge ("between 3 and 4, so 3"); the last one wins over other cues.
_FINAL_CUE = re.compile(
    r"(?:\bfinal (?:answer|choice)|(?:^|[,;.:]\s*)(?:so|therefore|thus|overall|ultimately)\b|"
    r"\bin (?:the end|conclusion)\b|\ben definitiva\b|\bpor lo tanto\b|\basí que\b|"
    r"\bfinalmente\b)",
    re.IGNORECASE)
_CUE_REACH = 25  # characters between a cue and its key

_NUMERIC_KEY = re.compile(r"(?:^|(?<=[\s\"'*:#=]))[(\[]?(\d{1,2})(?![\d]|[.,]\d)")
# A letter key stands alone or in (B) / B. / B); after an apostrophe only if that apostrophe
# opens a quote ("'B'"), not in a contraction ("I'd", "it's").
_LETTER_KEY = re.compile(
    r"(?:^|(?<=[\s(\[\"*:])|(?<=(?<!\w)'))([a-z])(?=$|[\s).\]\"'*:,!?])", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedAnswer:
    position: int | None  # 0-based presented position, None if not parsed
    status: str  # ok | refusal | unparseable
    method: str  # json | key | label | refusal | none


_UNPARSEABLE = ParsedAnswer(None, "unparseable", "none")
_REFUSAL = ParsedAnswer(None, "refusal", "refusal")


def _clean(text: str) -> str:
    """NFKC, straight apostrophes, expanded negative contractions, single spaces; case kept."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\b(can)(?:'t|not)\b", r"\1 not", text, flags=re.IGNORECASE)
    text = re.sub(r"\bwon't\b", "will not", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(\w+)n't\b", r"\1 not", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


def _norm(text: str) -> str:
    return _clean(text).casefold()


def parse_answer(text: str, keys: tuple[str, ...] | list[str],
                 labels: tuple[str, ...] | list[str]) -> ParsedAnswer:
    """Map generated ``text`` to a presented position using the shown keys and labels.

    See the module docstring for the order of the checks. Ambiguous text (two different
    keys or labels and no clear first answer, or a negated label) is unparseable.
    """
    if text is None:
        return _UNPARSEABLE
    raw = str(text)[:2000]
    clean = _clean(raw)
    norm = clean.casefold()
    if not norm:
        return _UNPARSEABLE
    keys = [str(k) for k in keys]
    key_index = {k.casefold(): i for i, k in enumerate(keys)}

    pos = _json_answer(raw, key_index, labels)
    if pos is not None:
        return ParsedAnswer(pos, "ok", "json")

    tokens = _key_tokens(clean, key_index)
    key = _cued_key(clean, tokens) or _leading_key(clean, tokens)
    if key is not None:
        return ParsedAnswer(key_index[key], "ok", "key")
    if _declines(norm):
        return _REFUSAL
    key = _only_key(tokens)
    if key is not None:
        return ParsedAnswer(key_index[key], "ok", "key")

    pos = _label_position(norm, labels)
    if pos is not None:
        return ParsedAnswer(pos, "ok", "label")
    if _disclaims(norm):
        return _REFUSAL
    return _UNPARSEABLE


def _declines(norm: str) -> bool:
    return bool(_DECLINE.search(norm))


def _disclaims(norm: str) -> bool:
    return bool(_DISCLAIMER.search(norm))


def _json_answer(raw: str, key_index: dict[str, int],
                 labels: tuple[str, ...] | list[str]) -> int | None:
    """Position named by an answer field of the first JSON object, if any."""
    match = re.search(r"\{[^{}]{0,500}\}", raw)
    if not match:
        return None
    try:
        obj = json.loads(match.group(0))
    except (ValueError, TypeError):
        return None
    if not isinstance(obj, dict):
        return None
    for field in ("answer", "choice", "option", "response", "respuesta", "antwort"):
        if field not in obj:
            continue
        value = _json_key_text(obj[field])
        if value in key_index:
            return key_index[value]
        pos = _label_position(_norm(str(obj[field])), labels)
        if pos is not None:
            return pos
    return None


def _json_key_text(value: object) -> str:
    """A JSON value as key text: 4 and 4.0 -> "4"; booleans never name a key."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip().casefold()
    return text[:-2] if re.fullmatch(r"\d{1,2}\.0", text) else text


def _key_tokens(clean: str, key_index: dict[str, int]) -> list[tuple[int, str]]:
    """(start, key) for each shown key standing alone in the text, in order.

    Numbers are whole tokens ("2023", "alert(1)" and "3.5" are not keys; "3/5" is 3). Letters
    exclude the article "a" ("go with a C") and the pronoun "I". A key right after a negation
    ("not 3") is not a choice.
    """
    numeric = all(k.isdigit() for k in key_index)
    pattern = _NUMERIC_KEY if numeric else _LETTER_KEY
    tokens = []
    for m in pattern.finditer(clean):
        key = m.group(1).casefold()
        if key not in key_index or _negated_key(clean, m.start()):
            continue
        if not numeric and _is_article_or_pronoun(clean, m.start(1)):
            continue
        tokens.append((m.start(1), key))
    return tokens


def _negated_key(clean: str, start: int) -> bool:
    return bool(_NEGATED_RIGHT_BEFORE.search(clean[:start].casefold()))


def _is_article_or_pronoun(clean: str, start: int) -> bool:
    """True for "a" in "a C" / "a middle option" and for "I" in "I'd" / "I think"."""
    letter, after = clean[start], clean[start + 1:start + 3]
    followed_by_word = bool(re.match(r"\s[^\W\d_]", after))
    if letter in "iI":
        return after.startswith("'") or followed_by_word
    if letter in "aA" and followed_by_word:
        return letter == "a" or _at_sentence_start(clean, start)
    return False


def _at_sentence_start(clean: str, start: int) -> bool:
    return bool(re.search(r"(?:^|[.!?]\s+)[\s(\[\"'*#]*$", clean[:start]))


def _cued_key(clean: str, tokens: list[tuple[int, str]]) -> str | None:
    """The key named after the last concluding cue, else after the first other cue.

    A negated cue ("I cannot choose between 1 and 5") names nothing.
    """
    final = [k for k in _keys_after_cues(clean, tokens, _FINAL_CUE) if k]
    if final:
        return final[-1]
    return next((k for k in _keys_after_cues(clean, tokens, _CUE) if k), None)


def _keys_after_cues(clean: str, tokens: list[tuple[int, str]], cue: re.Pattern):
    for m in cue.finditer(clean):
        if _NEGATED_BEFORE.search(clean[:m.start()].casefold()):
            continue
        yield next((key for start, key in tokens
                    if m.end() <= start <= m.end() + _CUE_REACH), None)


def _leading_key(clean: str, tokens: list[tuple[int, str]]) -> str | None:
    """The key that opens the reply ("4", "(C) neither", "2 or 4, it depends")."""
    if tokens and re.fullmatch(r"[\s(\[\"'*#]*", clean[:tokens[0][0]]):
        return tokens[0][1]
    return None


def _only_key(tokens: list[tuple[int, str]]) -> str | None:
    distinct = {key for _, key in tokens}
    return distinct.pop() if len(distinct) == 1 else None


def _label_forms(labels: tuple[str, ...] | list[str]) -> list[tuple[int, str]]:
    """(position, normalised text) for each label and for its short form without a trailing
    explanation: "not at all relevant (This consideration has nothing to do ...)" is also
    named by "not at all relevant"."""
    forms = []
    for i, label in enumerate(labels):
        full = _norm(label)
        short = re.sub(r"\s*\([^()]*\)$", "", full)
        forms += [(i, form) for form in dict.fromkeys((full, short)) if form]
    return forms


def _label_position(norm: str, labels: tuple[str, ...] | list[str]) -> int | None:
    """Position of the scale label named in ``norm`` (longest label first, so "strongly
    agree" is not read as "agree"); None if no label, only negated labels, or an ambiguous
    mix of labels."""
    hits: list[tuple[int, int, int]] = []
    negated: list[tuple[int, int]] = []
    for i, lab in sorted(_label_forms(labels), key=lambda p: -len(p[1])):
        for m in re.finditer(rf"(?<!\w){re.escape(lab)}(?!\w)", norm):
            # Skip a label inside a longer label already seen at that place ("agree" in
            # "strongly agree"), whether that one counted or was negated.
            if any(s <= m.start() and m.end() <= e for s, e in negated + [h[:2] for h in hits]):
                continue
            if _NEGATED_BEFORE.search(norm[:m.start()]):
                negated.append((m.start(), m.end()))
            else:
                hits.append((m.start(), m.end(), i))
    chosen = {i for _, _, i in hits}
    if len(chosen) == 1:
        return chosen.pop()
    if not hits or negated:
        return None
    first = min(hits)
    return first[2] if first[0] < 40 else None
