"""The stopping rules on their own: pure Python, no model (mezoo.training.stopping)."""

import dataclasses

import pytest

from mezoo.training.stopping import StoppingRules, StoppingState

PAPER = StoppingRules(patience=3)  # Criteo/Avazu: no schedule, patience 3
BARS = StoppingRules(patience=2, reduce_lr_factor=0.1, reduce_lr_patience=1, min_learning_rate=1e-6)  # Frappe


def run_rules(rules, aucs, learning_rate=1e-3, state=None):
    state = state or StoppingState(learning_rate=learning_rate)
    decisions = []
    for epoch, auc in enumerate(aucs):
        if state.finished:
            break
        decisions.append(rules.after_epoch(state, epoch, auc))
    return state, decisions


def test_the_best_epoch_is_tracked_and_improvement_resets_the_waits():
    state, decisions = run_rules(PAPER, [0.70, 0.72, 0.71, 0.73, 0.725])
    assert [d.improved for d in decisions] == [True, True, False, True, False]
    assert state.best_epoch == 3 and state.best_val_auc == 0.73
    assert state.stop_wait == 1 and state.plateau_wait == 1 and not state.finished


def test_an_equal_auc_is_no_improvement():
    state, decisions = run_rules(PAPER, [0.70, 0.70])
    assert [d.improved for d in decisions] == [True, False] and state.best_epoch == 0


def test_patience_reached_stops_the_run():
    state, decisions = run_rules(PAPER, [0.70, 0.69, 0.69, 0.69, 0.99])
    assert len(decisions) == 4, "nothing runs after the stop"
    assert [d.stop for d in decisions] == [False, False, False, True]
    assert state.finished and state.best_epoch == 0 and state.stop_wait == 3


def test_without_a_schedule_the_learning_rate_never_changes():
    state, decisions = run_rules(PAPER, [0.70, 0.69, 0.68])
    assert state.learning_rate == 1e-3 and not any(d.learning_rate_cut for d in decisions)


def test_a_plateau_cuts_the_learning_rate():
    rules = StoppingRules(patience=5, reduce_lr_factor=0.5, reduce_lr_patience=2)
    state, decisions = run_rules(rules, [0.70, 0.69, 0.69, 0.69, 0.69])
    assert [d.learning_rate_cut for d in decisions] == [False, False, True, False, True]
    assert decisions[2].previous_learning_rate == 1e-3
    assert state.learning_rate == pytest.approx(2.5e-4) and state.plateau_wait == 0


def test_cuts_stop_at_the_minimum_learning_rate():
    rules = StoppingRules(patience=10, reduce_lr_factor=0.1, reduce_lr_patience=1, min_learning_rate=1e-5)
    state, decisions = run_rules(rules, [0.70, 0.6, 0.6, 0.6, 0.6])
    assert state.learning_rate == 1e-5
    last = decisions[-1]
    assert last.learning_rate_cut and last.previous_learning_rate == 1e-5, "a cut at the floor leaves it there"


def test_bars_protocol_cuts_every_epoch_without_improvement_then_stops():
    state, decisions = run_rules(BARS, [0.90, 0.89, 0.88])
    assert [d.learning_rate_cut for d in decisions] == [False, True, True]
    assert state.learning_rate == pytest.approx(1e-5) and state.finished and state.best_epoch == 0


def test_a_resumed_state_continues_the_counts():
    recorded = StoppingState(best_val_auc=0.8, best_epoch=4, stop_wait=1, plateau_wait=1, learning_rate=1e-4)
    state, decisions = run_rules(
        StoppingRules(patience=2, reduce_lr_factor=0.5, reduce_lr_patience=2),
        [0.79],
        state=dataclasses.replace(recorded),
    )
    assert decisions[0].stop and decisions[0].learning_rate_cut
    assert state.finished and state.best_epoch == 4 and state.learning_rate == pytest.approx(5e-5)


def test_the_run_state_carries_the_rules_fields():
    run_state = pytest.importorskip("mezoo.training.run_state")
    fields = {f.name for f in dataclasses.fields(run_state.RunState)}
    assert {f.name for f in dataclasses.fields(StoppingState)} <= fields
