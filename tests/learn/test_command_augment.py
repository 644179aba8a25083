"""The high level's command augmentation (networks.high_language.command_augment): each command subtask's embedding
swapped for one of that instruction's training phrasings, padding and validation batches untouched."""
from __future__ import annotations

import numpy as np
import pytest

from hirl.config import FieldError
from hirl.data.instruction_variants import with_variants
from hirl.data.tables import NO_INDEX, text_tables
from hirl.encoders.commands import MAX_SUBTASKS, command_subtasks
from hirl.encoders.text_factory import make_text_encoder
from hirl.learn.imitation_data import CommandParaphraseSampler, command_labels
from hirl.learn.run_config import RunConfig
from hirl.policies.obs import DEFAULT_OBS_KEYS
from hirl.runs.agents import component
from hirl_envs.tabletop import tasks


@pytest.fixture(scope="module")
def tables(chain_dataset):
    t = chain_dataset[1]
    phrasings = with_variants(lambda text: list(tasks.SUBTASKS[tasks.canonical(text)].paraphrases[:-1]), 4)
    encoder = make_text_encoder("hash", 32)
    return t, text_tables(t, encoder, MAX_SUBTASKS, phrasings), text_tables(t, encoder, MAX_SUBTASKS), phrasings, encoder


def test_command_labels_index_each_subtask_in_the_vocabulary(tables):
    t, *_ = tables
    labels = command_labels(t, MAX_SUBTASKS)
    for c, text in enumerate(t.commands):
        subs = command_subtasks(text)
        assert [t.vocab[i] for i in labels[c, :len(subs)]] == list(subs)
        assert (labels[c, len(subs):] == NO_INDEX).all()


def test_every_subtask_becomes_one_of_its_phrasings_at_p_1_and_none_at_p_0(tables):
    t, tt, _, phrasings, encoder = tables
    samples = {"command": t.command, "prev": t.label, "target": t.label}
    lookups = {"command_emb": (tt.command_emb, "command"), "command_mask": (tt.command_mask, "command")}
    labels = command_labels(t, MAX_SUBTASKS)
    rng = np.random.default_rng(0)
    batch = CommandParaphraseSampler(samples, lookups, 64, tt, 1.0, labels)(0, rng)
    rows = CommandParaphraseSampler(samples, lookups, 64, tt, 1.0, labels).draw(0, np.random.default_rng(0))
    for b, row in enumerate(rows):
        c = t.command[row]
        for k in range(MAX_SUBTASKS):
            got = batch["command_emb"][b, k].numpy()
            if labels[c, k] == NO_INDEX:
                np.testing.assert_array_equal(got, 0)  # padding stays zeros
                continue
            options = encoder.encode(phrasings(t.vocab[labels[c, k]]))
            assert np.isclose(options, got, atol=1e-6).all(axis=1).any()
            assert not np.allclose(got, tt.command_emb[c, k])
    np.testing.assert_array_equal(batch["command_mask"].numpy(), tt.command_mask[t.command[rows]])
    plain = CommandParaphraseSampler(samples, lookups, 64, tt, 0.0, labels)
    same = plain(0, np.random.default_rng(0))
    np.testing.assert_array_equal(same["command_emb"].numpy(), tt.command_emb[t.command[rows]])
    first = CommandParaphraseSampler(samples, lookups, 64, tt, 1.0, labels).epochs()[0]  # validation: as recorded
    np.testing.assert_array_equal(first["command_emb"].numpy(), tt.command_emb[t.command[:64]])


def test_the_field_switches_it_on_and_needs_the_training_phrasings(tables):
    t, tt, bare, *_ = tables
    high = component("high_language")
    high.set_network_fields({"command_augment": 0.3})
    try:
        sampler = high.sampler(t, tt, 8)
        assert isinstance(sampler, CommandParaphraseSampler) and sampler.p == 0.3
        validation = high.sampler(t, bare, 8)  # validation tables have no phrasings: gathered as recorded
        np.testing.assert_array_equal(validation.gather(np.arange(4))["command_emb"].numpy(),
                                      bare.command_emb[t.command[:4]])
        with pytest.raises(ValueError, match="paraphrase_augment"):
            validation(0, np.random.default_rng(0))
        with pytest.raises(FieldError, match=r"networks\.high_language\.command_augment"):
            RunConfig(paraphrase_augment=0.0, networks={"high_language": {"command_augment": 0.3}})
        high.set_network_fields({"command_augment": 1.5})
        with pytest.raises(FieldError, match=r"networks\.high_language"):
            high.build(t, tt, "hash", DEFAULT_OBS_KEYS)
    finally:
        high.set_network_fields({})
