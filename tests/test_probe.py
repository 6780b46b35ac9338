"""Probing: cache reuse, exact re-mapping of orders, generation statuses, stored factors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes import FirstPositionBackend, PreferredLabelBackend, ScriptedTextBackend
from workbench.design import Design
from workbench.probe import run_probe
from workbench.store import FACTORS

MINI = str(Path(__file__).parent / "fixtures" / "mini.yaml")


def test_rerun_computes_nothing_new(tmp_path):
    backend = FirstPositionBackend()
    d = Design(models=["fake"], instruments=[MINI], personas=["none", "political:liberal"],
               orders=["original", "reversed"], paraphrases=[0, 1], repeats=2,
               mode="generate", temperature=0.5)
    first = run_probe(d, tmp_path, backends={"fake": backend}, progress=False)
    assert first.stats[0].computed == 3 * 2 * 2 * 2 * 2 == backend.calls
    second = run_probe(d, tmp_path, backends={"fake": backend}, progress=False)
    assert second.stats[0].computed == 0 and second.stats[0].cached == 48
    assert backend.calls == 48
    req = first.store.requests()
    assert len(req) == 48 and req.request_id.is_unique
    for col in FACTORS:
        assert req[col].notna().all()


def test_first_position_bias_maps_back_to_the_canonical_scale(tmp_path):
    d = Design(models=["fake"], instruments=[MINI], orders=["original", "reversed"],
               random_orders=3, items=["a1"])
    result = run_probe(d, tmp_path, backends={"fake": FirstPositionBackend(0.7)}, progress=False)
    dists = result.store.distributions()
    # Mass on the first presented position is 0.7 in every order...
    first = dists[dists.position == 0].groupby("order")["prob"].first()
    assert (first - 0.7).abs().max() < 1e-12
    # ...and lands on whichever canonical code was shown first.
    top = dists.loc[dists.groupby("request_id")["prob"].idxmax()].set_index("order")["code"]
    assert top["original"] == 1 and top["reversed"] == 5
    answers = result.store.answers().set_index("order")["expected"]
    assert answers["original"] == pytest.approx(0.7 * 1 + 0.075 * (2 + 3 + 4 + 5))
    assert answers["reversed"] == pytest.approx(0.7 * 5 + 0.075 * (4 + 3 + 2 + 1))


def test_a_fixed_label_preference_is_order_invariant_after_remapping(tmp_path):
    d = Design(models=["fake"], instruments=[MINI], orders=["original", "reversed"],
               random_orders=4, items=["a1", "a2"])
    result = run_probe(d, tmp_path, backends={"fake": PreferredLabelBackend("agree")},
                       progress=False)
    dists = result.store.distributions()
    top = dists.loc[dists.groupby("request_id")["prob"].idxmax()]
    assert set(top["code"]) == {4}  # "agree" is code 4 whatever the order
    assert top["position"].nunique() > 1  # but it was shown in different positions


def test_generation_mode_keeps_refusals_and_unparseable_answers(tmp_path):
    texts = ["I would choose 2.", "As an AI, I don't have personal opinions.",
             "<script>alert(1)</script>"]
    d = Design(models=["fake"], instruments=[MINI], mode="generate")
    result = run_probe(d, tmp_path, backends={"fake": ScriptedTextBackend(texts)},
                       progress=False)
    ans = result.store.answers().sort_values("item_id")
    assert list(ans["status"]) == ["ok", "refusal", "unparseable"]
    assert ans["generated_text"].iloc[2] == "<script>alert(1)</script>"
    assert pd.isna(ans["answer_code"].iloc[1])


def test_logprob_mode_on_a_generation_only_server_fails_clearly(tmp_path):
    from workbench.errors import WorkbenchError

    d = Design(models=["fake"], instruments=[MINI])
    with pytest.raises(WorkbenchError, match="without log-probabilities"):
        run_probe(d, tmp_path, backends={"fake": ScriptedTextBackend(["1"])}, progress=False)


def test_tiny_model_end_to_end_and_cache(tmp_path, tiny_model_dir):
    d = Design(models=[str(tiny_model_dir)], instruments=["mfq30"], items=["q01", "q02", "q06"])
    first = run_probe(d, tmp_path, progress=False)
    assert first.stats[0].computed == 3
    second = run_probe(d, tmp_path, progress=False)
    assert second.stats[0].computed == 0 and second.stats[0].load_seconds == 0
    dists = first.store.distributions()
    assert len(dists) == 3 * 6
    assert dists.groupby("request_id")["prob"].sum().sub(1).abs().max() < 1e-9


def test_the_probe_closes_the_backends_it_loads_and_only_those(tmp_path, tiny_model_dir,
                                                              tiny_backend, monkeypatch):
    import workbench.probe as probe

    loaded = []

    def spy(name, **options):
        loaded.append(probe_load(name, **options))
        return loaded[-1]

    probe_load = probe.load_model
    monkeypatch.setattr(probe, "load_model", spy)
    d = Design(models=[str(tiny_model_dir)], instruments=["mfq30"], items=["q01", "q02"])
    assert run_probe(d, tmp_path, progress=False).stats[0].computed == 2
    assert len(loaded) == 1 and loaded[0].closed and loaded[0].model is None
    # a backend handed in is the caller's to close; loaded by path or handed in, a model has
    # one identity, so the answers stored above are reused
    again = Design(models=["tiny-chat"], instruments=["mfq30"], items=["q01", "q02", "q06"])
    stats = run_probe(again, tmp_path, backends={"tiny-chat": tiny_backend}, progress=False)
    assert (stats.stats[0].cached, stats.stats[0].computed) == (2, 1)
    assert not tiny_backend.closed and len(loaded) == 1


def test_another_dtype_is_stored_as_another_model_not_served_from_cache(tmp_path,
                                                                       tiny_model_dir):
    d = Design(models=[str(tiny_model_dir)], instruments=["mfq30"], items=["q01", "q02"])
    run_probe(d, tmp_path, progress=False)
    half = run_probe(d, tmp_path, progress=False, backend_options={"dtype": "bfloat16"})
    assert half.stats[0].computed == 2 and half.stats[0].model == "tiny-chat-bfloat16"
    prov = half.store.provenance().set_index("model")
    assert set(prov.index) == {"tiny-chat", "tiny-chat-bfloat16"}
    assert prov.loc["tiny-chat-bfloat16", "dtype"] == "bfloat16"
    assert prov.loc["tiny-chat-bfloat16", "model_fingerprint"].endswith(
        ";dtype=bfloat16;logits=float32")


def test_other_weights_under_a_stored_name_are_refused(tmp_path):
    from workbench.errors import WorkbenchError

    d = Design(models=["fake"], instruments=[MINI], items=["a1"])
    run_probe(d, tmp_path, backends={"fake": FirstPositionBackend(0.7)}, progress=False)
    with pytest.raises(WorkbenchError, match="another model named 'fake'"):
        run_probe(d, tmp_path, backends={"fake": FirstPositionBackend(0.6)}, progress=False)
    assert run_probe(d, tmp_path, backends={"fake": FirstPositionBackend(0.7)},
                     progress=False).stats[0].cached == 1


def test_a_follow_up_is_asked_after_each_first_answer_and_combined(tmp_path):
    """WVS Q155 after Q154: worked by hand for a model that favours the first option shown."""
    from workbench.scoring import score_wvs7

    d = Design(models=["fake"], instruments=["wvs7"], items=["Q154", "Q155"])
    backend = FirstPositionBackend(0.7)
    result = run_probe(d, tmp_path, backends={"fake": backend}, progress=False)
    assert d.count() == 1 + 4 and backend.calls == 5
    asked = result.store.distributions(followups="asked")
    follow = asked[asked.item_id == "Q155"]
    assert sorted(follow.given.unique()) == ["Q154=1", "Q154=2", "Q154=3", "Q154=4"]
    # the first answer is never offered again
    for given, rows in follow.groupby("given"):
        assert int(given.split("=")[1]) not in set(rows.code) and len(rows) == 3
    messages = json.loads(result.store.requests(item_id="Q155", given="Q154=2").prompt.iloc[0])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Answer: 2" and "2. Giving people more" in messages[0][
        "content"]

    # Q154 = [.7, .1, .1, .1] on codes 1-4; after c1 the three left get [.7, .15, .15]
    combined = result.store.distributions()
    q155 = combined[combined.item_id == "Q155"].set_index("code")["prob"]
    assert q155.to_dict() == pytest.approx({1: 0.21, 2: 0.52, 3: 0.135, 4: 0.135})
    assert combined[combined.item_id == "Q155"].request_id.nunique() == 1
    # only Q155 asked for: Q154 is fetched to weight it, then left out
    only = result.store.distributions(item_id="Q155")
    assert set(only.item_id) == {"Q155"}
    assert only.set_index("code")["prob"].to_dict() == pytest.approx(q155.to_dict())
    answers = result.store.answers()
    assert len(answers) == 2 and set(answers.item_id) == {"Q154", "Q155"}
    # expected WVS Y002 index: 1 + P(first post-materialist) + P(second post-materialist)
    scores = score_wvs7(combined, by=["model"]).set_index("score_id")["score"]
    assert scores["postmaterialism"] == pytest.approx(1 + 0.2 + 0.52 + 0.135)


def test_a_follow_up_without_its_first_question_is_refused():
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="add Q154 to items"):
        Design(models=["m"], instruments=["wvs7"], items=["Q155"]).count()
