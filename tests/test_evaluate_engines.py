"""Engine plumbing without the real student: batching, cutting at end and answer, merging LoRA
adapters (on a tiny random model), vLLM argument mapping."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
import torch

from revthink.config import EvaluateConfig, ModelConfig
from revthink.errors import ModelError
from revthink.evaluate.decoding import greedy_pruned
from revthink.evaluate.engine_hf import (
    AnswerStop,
    answered_prefix,
    cut_at_end,
    free_cores,
    merge_adapter,
    plan_batches,
    restore,
)
from revthink.evaluate.engine_vllm import (
    engine_kwargs,
    lora_rank,
    lora_request_args,
    sampling_kwargs,
    to_generation,
)
from revthink.evaluate.engines import Generation, weights_kind
from revthink.evaluate.scoring import answer_check
from revthink.records import Problem


def _adapter(folder, rank):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank}))
    return folder


def test_batches_hold_similar_lengths_longest_first():
    batches = plan_batches([5, 50, 7, 48, 6], batch_size=2)
    assert batches == [[1, 3], [2, 4], [0]]


def test_every_prompt_is_in_exactly_one_batch():
    lengths = [3, 1, 4, 1, 5, 9, 2, 6]
    batches = plan_batches(lengths, batch_size=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= 3 for b in batches)


def test_cut_at_end_counts_the_end_token_but_not_padding():
    assert cut_at_end([5, 6, 2, 2, 2], {2}) == ([5, 6], 3)
    assert cut_at_end([5, 6, 7], {2}) == ([5, 6, 7], 3)
    assert cut_at_end([2, 2], {2, 9}) == ([], 1)


def test_weights_kind_tells_adapters_from_full_models(tmp_path):
    assert weights_kind(_adapter(tmp_path / "a", 8)) == "lora"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert weights_kind(tmp_path / "m") == "full"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="empty.*run `revthink train` first"):
        weights_kind(tmp_path / "empty")


def test_lora_rank_rounds_up_to_a_rank_vllm_accepts(tmp_path):
    assert lora_rank([]) is None
    assert lora_rank([_adapter(tmp_path / "a", 16)]) == 16
    assert lora_rank([_adapter(tmp_path / "b", 4), _adapter(tmp_path / "c", 12)]) == 16
    with pytest.raises(ModelError, match="rank 1000"):
        lora_rank([_adapter(tmp_path / "d", 1000)])


def test_engine_kwargs_pass_a_gguf_student_as_its_file_and_enable_lora_when_needed():
    kwargs = engine_kwargs(ModelConfig(), seed=3, rank=16)
    assert kwargs["model"].endswith(".gguf")
    assert (kwargs["enable_lora"], kwargs["max_lora_rank"], kwargs["seed"]) == (True, 16, 3)
    assert "enable_lora" not in engine_kwargs(ModelConfig(path="org/model"), seed=0, rank=None)


def test_sampling_kwargs_are_greedy_by_default_and_seeded_when_sampling():
    greedy = sampling_kwargs(EvaluateConfig(max_new_tokens=64), seed=5, stop_ids=[2])
    assert greedy["temperature"] == 0 and greedy["seed"] is None
    assert (greedy["max_tokens"], greedy["stop_token_ids"], greedy["n"]) == (64, [2], 1)
    sampled = sampling_kwargs(EvaluateConfig(temperature=0.7), seed=5, stop_ids=[])
    assert (sampled["temperature"], sampled["seed"]) == (0.7, 5)


def test_lora_requests_get_stable_unique_ids(tmp_path):
    known: dict = {}
    first = lora_request_args(tmp_path / "skd", known)
    second = lora_request_args(tmp_path / "revthink", known)
    assert first[:2] == ("skd", 1) and second[:2] == ("revthink", 2)
    assert lora_request_args(tmp_path / "skd", known) == first
    assert first[2] == str((tmp_path / "skd").resolve())


def test_to_generation_takes_text_and_token_count():
    completion = SimpleNamespace(text="The answer is 4.", token_ids=[1, 2, 3])
    output = SimpleNamespace(outputs=[completion])
    assert to_generation(output) == Generation("The answer is 4.", 3)


def _number_check(text: str) -> bool:
    problem = Problem("p", "toy", "How many?", "7", "number")
    return answer_check(problem)(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("3 + 4 = 7. The answer is 7. Then", "3 + 4 = 7. The answer is 7."),
    ("The answer is 7.\n", "The answer is 7."),
    ("The answer is 7\nNext", "The answer is 7"),
    ("The answer is 3.", None),  # may still become 3.5
    ("The answer is 3.5", None),
    ("We add 3 and 4. So it is 7. ", None),  # no final-answer sentence: strict finds nothing
    ("The answer is 7. Hmm. The answer is 8. ", "The answer is 7."),
])
def test_answered_prefix_ends_at_the_completed_answer_sentence(text, expected):
    assert answered_prefix(text, _number_check) == expected


class _CharTokenizer:
    """One token per character: id = code point (enough for the stopping criterion)."""

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def test_answer_stop_ends_each_row_once_its_answer_sentence_is_complete():
    rows = ["P:The answer is 7. More text", "P:The answer is 3.5 and more", "P:Still thinking"]
    spaced = frozenset({ord(" "), ord("\n")})
    stop = AnswerStop(_CharTokenizer(), 2, [_number_check] * 3, spaced)
    fired_at: dict[int, int] = {}
    for length in range(3, max(len(r) for r in rows) + 1):
        ids = torch.tensor([[ord(c) for c in r.ljust(30)[:length]] for r in rows])
        done = stop(ids, None)
        for row in range(3):
            if done[row] and row not in fired_at:
                fired_at[row] = length
    assert fired_at == {0: len("P:The answer is 7. ")}
    assert stop.texts == ["The answer is 7.", None, None]
    assert stop.generated == [len("The answer is 7. "), None, None]


def test_free_cores_is_between_one_and_the_usable_cores():
    assert 1 <= free_cores() <= os.cpu_count()


def _tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)
    return LlamaForCausalLM(config).eval()


def test_a_merged_adapter_gives_the_peft_outputs_and_restore_puts_every_weight_back(tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model

    model = _tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False,
                      task_type="CAUSAL_LM")
    get_peft_model(_tiny_model(), lora).save_pretrained(str(tmp_path / "adapter"))
    ids = torch.tensor([[1, 5, 9, 13, 17]])
    with torch.no_grad():
        wrapped = PeftModel.from_pretrained(model, str(tmp_path / "adapter"))
        unmerged = wrapped(ids).logits
        wrapped.unload()
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

        originals = merge_adapter(model, tmp_path / "adapter")
        merged = model(ids).logits
        assert type(model.model.layers[0].self_attn.q_proj) is torch.nn.Linear  # no LoRA left
        assert torch.allclose(merged, unmerged, atol=1e-5)
        assert not torch.allclose(merged, _tiny_model()(ids).logits, atol=1e-3)

        restore(originals)
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_speed_settings_default_to_the_fast_path_and_threads_are_checked():
    from revthink.errors import ConfigError

    cfg = EvaluateConfig()
    assert (cfg.merge_lora, cfg.stop_after_answer, cfg.threads, cfg.batch_size) == (
        True, True, 0, 32
    )
    with pytest.raises(ConfigError, match="'evaluate.threads': expected an integer >= 0"):
        EvaluateConfig(threads=-1)


def test_pruned_greedy_decoding_continues_every_row_as_generate_does():
    from transformers import GenerationConfig

    model = _tiny_model()
    input_ids = torch.tensor([[0, 0, 5, 9, 13], [3, 7, 11, 2, 6], [0, 0, 0, 4, 8]])
    mask = (torch.arange(5) >= torch.tensor([[2], [0], [3]])).long()
    config = GenerationConfig(max_new_tokens=12, do_sample=False, pad_token_id=0,
                              eos_token_id=None)
    with torch.no_grad():
        expected = model.generate(input_ids=input_ids, attention_mask=mask,
                                  generation_config=config)[:, 5:].tolist()
        lengths = {0: 3, 1: 12, 2: 6}  # rows 0 and 2 end early and leave the batch
        pruned = greedy_pruned(model, input_ids, mask, 12, lambda r, ids: len(ids) == lengths[r])
    assert [len(ids) for ids in pruned] == [3, 12, 6]
    assert pruned == [expected[row][: lengths[row]] for row in range(3)]


def test_only_other_processes_count_as_busy(monkeypatch):
    from revthink.evaluate import engine_hf

    # (machine busy seconds, this process's seconds) before and after a 0.5 s window: the
    # machine did 1.3 s of work, 0.8 s of it ours, so others kept 1 core busy
    samples = iter([(100.0, 10.0), (101.3, 10.8)])
    monkeypatch.setattr(engine_hf, "cpu_seconds", lambda: next(samples))
    monkeypatch.setattr(engine_hf.time, "sleep", lambda seconds: None)
    assert engine_hf.others_busy(0.5) == pytest.approx(1.0)
    samples = iter([(100.0, 10.0), (101.0, 11.0)])  # all of it ours
    assert engine_hf.others_busy(0.5) == 0.0
    monkeypatch.undo()
    busy, own = engine_hf.cpu_seconds()  # the real /proc: busy time includes ours
    assert busy > own > 0
