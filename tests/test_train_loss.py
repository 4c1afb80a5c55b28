"""The completion-only loss: logits only where labels are set, equal to transformers' own loss."""

from __future__ import annotations

import pytest
import torch

from revthink.train.loss import IGNORE, completion_loss


def _tiny(kind: str):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    shape = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    if kind == "llama":
        return LlamaForCausalLM(LlamaConfig(**shape))
    return Qwen2ForCausalLM(Qwen2Config(**shape, tie_word_embeddings=True))


def _batch() -> dict[str, torch.Tensor]:
    """Three right-padded rows: a prompt without loss, a completion with loss, padding."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 97, (3, 12), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    labels = input_ids.clone()
    for row, (prompt, length) in enumerate([(4, 12), (6, 9), (2, 5)]):
        labels[row, :prompt] = IGNORE
        labels[row, length:] = IGNORE
        attention_mask[row, length:] = 0
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_the_loss_and_its_gradients_equal_the_full_logits_loss(kind):
    model = _tiny(kind)
    batch = _batch()
    full = model(**batch).loss
    full.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()

    ours = completion_loss(model, batch, model.get_output_embeddings())
    ours.backward()
    assert ours.item() == pytest.approx(full.item(), abs=1e-6)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], atol=1e-6, rtol=1e-5)


def test_the_head_sees_only_the_labelled_positions_and_is_unhooked_after():
    model = _tiny("llama")
    batch = _batch()
    head = model.get_output_embeddings()
    seen = []
    head.register_forward_hook(lambda module, args, out: seen.append(tuple(out.shape)))
    completion_loss(model, batch, head)
    labelled = int((batch["labels"][:, 1:] != IGNORE).sum())
    assert seen == [(labelled, 97)]
    assert labelled < 3 * 11  # prompts and padding are left out
    model(**batch)  # the selecting hook is gone: full logits again
    assert seen[-1] == (3, 12, 97)


def test_a_lora_model_under_bf16_autocast_matches_its_own_full_loss():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        _tiny("llama"), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear")
    )
    batch = _batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        full = model(**batch).loss
        ours = completion_loss(model, batch, model.get_output_embeddings())
    assert ours.item() == pytest.approx(full.item(), rel=1e-2)
