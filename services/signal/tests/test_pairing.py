"""Pairing (pure engine): bars and their feature vectors meet, whatever the arrival order."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from jules_contracts import Bar, FeatureVector
from jules_signal.engine import Dropped, Pair, Pairing, PairingOutcome

from .builders import BTC, ETH
from .streams import interleave, stream

ETH_BAR = stream(ETH, 1)[0][0]


def add(pairing: Pairing, event: Bar | FeatureVector) -> PairingOutcome:
    return pairing.add_bar(event) if isinstance(event, Bar) else pairing.add_vector(event)


def run(
    pairing: Pairing, events: Sequence[Bar | FeatureVector]
) -> tuple[list[Pair], list[Dropped]]:
    """Feed the events, settling every pair at once (as the handler does after deciding)."""
    pairs: list[Pair] = []
    dropped: list[Dropped] = []
    for event in events:
        outcome = add(pairing, event)
        dropped.extend(outcome.dropped)
        if outcome.pair is not None:
            pairs.append(outcome.pair)
            pairing.settle(outcome.pair)
    return pairs, dropped


def as_pairs(stream_: Sequence[tuple[Bar, FeatureVector]]) -> list[Pair]:
    return [Pair(bar, vector) for bar, vector in stream_]


@pytest.mark.parametrize("order", ["bars_first", "vectors_first", "alternating", "vector_lead"])
def test_any_arrival_order_pairs_every_bar_with_its_vector_in_bar_order(order):
    pairs = stream(count=40)
    bars = [bar for bar, _ in pairs]
    vectors = [vector for _, vector in pairs]
    orders: dict[str, list[Bar | FeatureVector]] = {
        "bars_first": [*bars, *vectors],
        "vectors_first": [*vectors, *bars],
        "alternating": [e for bar, vector in pairs for e in (bar, vector)],
        "vector_lead": [e for bar, vector in pairs for e in (vector, bar)],
    }
    pairing = Pairing(stale_after=1, max_pending=10_000)  # the strictest bound: nothing drops
    assert run(pairing, orders[order]) == (as_pairs(pairs), [])
    assert pairing.pending("bar") == pairing.pending("vector") == 0


@pytest.mark.parametrize("seed", range(10))
def test_random_interleavings_of_two_instruments_pair_each_in_bar_order(seed):
    btc, eth = stream(BTC, 60), stream(ETH, 60)
    events: list[Bar | FeatureVector] = interleave(
        seed,
        [bar for bar, _ in btc],
        [vector for _, vector in btc],
        [bar for bar, _ in eth],
        [vector for _, vector in eth],
    )
    pairs, dropped = run(Pairing(stale_after=1, max_pending=10_000), events)
    assert dropped == []
    assert [p for p in pairs if p.bar.instrument_id == BTC] == as_pairs(btc)
    assert [p for p in pairs if p.bar.instrument_id == ETH] == as_pairs(eth)


def test_a_pair_stays_until_settled_so_a_failed_decision_can_be_retried():
    bar, vector = stream(count=1)[0]
    pairing = Pairing(stale_after=1, max_pending=10)
    assert pairing.add_bar(bar) == PairingOutcome()
    first = pairing.add_vector(vector)
    assert first.pair == Pair(bar, vector)
    assert pairing.add_vector(vector) == first  # not settled: offered again
    pairing.settle(Pair(bar, vector))
    assert pairing.add_vector(vector).duplicate
    assert pairing.pending("bar") == pairing.pending("vector") == 0


def test_a_vector_whose_bar_never_comes_is_dropped_after_n_newer_bars():
    pairs = stream(count=10)
    pairing = Pairing(stale_after=3, max_pending=10_000)
    orphan = pairs[2][1]
    assert pairing.add_vector(orphan) == PairingOutcome()
    assert run(pairing, [e for bar, vector in pairs[3:5] for e in (bar, vector)])[1] == []
    assert pairing.pending("vector") == 1
    outcome = pairing.add_bar(pairs[5][0])  # the third newer bar
    assert outcome == PairingOutcome(dropped=(Dropped("vector", orphan, "stale"),))
    assert pairing.pending("vector") == 0
    assert pairing.pending("bar") == 1  # the third bar waits for its own vector


def test_a_bar_whose_vector_never_comes_is_dropped_after_n_newer_vectors():
    pairs = stream(count=10)
    bars = [bar for bar, _ in pairs]
    pairing = Pairing(stale_after=2, max_pending=10_000)
    assert run(pairing, bars) == ([], [])  # the features service lags: every bar waits
    first, dropped = run(pairing, [pairs[1][1]])  # bar 0's vector never comes
    assert first == [Pair(*pairs[1])]
    assert dropped == []
    assert pairing.pending("bar") == 9
    second, dropped = run(pairing, [pairs[2][1]])
    assert second == [Pair(*pairs[2])]
    assert dropped == [Dropped("bar", bars[0], "stale")]
    assert pairing.pending("bar") == 7


def test_at_most_max_pending_wait_per_instrument_the_oldest_dropped_first():
    pairs = stream(count=6)
    bars = [bar for bar, _ in pairs]
    pairing = Pairing(stale_after=16, max_pending=3)
    assert run(pairing, bars)[1] == [Dropped("bar", bar, "overflow") for bar in bars[:3]]
    assert pairing.pending("bar") == 3
    assert run(pairing, [ETH_BAR])[1] == []  # the bound is per instrument
    paired, dropped = run(pairing, [vector for _, vector in pairs[3:]])  # the newest still pair
    assert paired == as_pairs(pairs[3:])
    assert dropped == []
    assert pairing.pending("bar") == 1


def test_an_event_already_settled_or_waiting_is_a_duplicate():
    pairs = stream(count=30)
    pairing = Pairing(stale_after=1, max_pending=10_000)
    run(pairing, [e for bar, vector in pairs for e in (bar, vector)])
    for bar, vector in pairs[-20:]:  # redelivered after their pairs were settled
        assert pairing.add_vector(vector) == PairingOutcome(duplicate=True)
        assert pairing.add_bar(bar) == PairingOutcome(duplicate=True)
    waiting = stream(count=31)[30][0]
    assert pairing.add_bar(waiting) == PairingOutcome()
    assert pairing.add_bar(waiting).duplicate  # delivered twice while it waits
    assert pairing.pending("bar") == 1


def test_the_settled_ids_remembered_are_bounded_by_max_pending():
    pairs = stream(count=5)
    pairing = Pairing(stale_after=1, max_pending=3)
    run(pairing, [e for bar, vector in pairs for e in (bar, vector)])
    assert not pairing.add_bar(pairs[1][0]).duplicate  # forgotten: only the last 3 are kept
    assert pairing.add_bar(pairs[2][0]).duplicate


def test_a_vector_naming_no_bar_is_dropped():
    _, vector = stream(count=1)[0]
    causeless = vector.model_copy(update={"causation_id": None})
    pairing = Pairing(stale_after=1, max_pending=10)
    assert pairing.add_vector(causeless) == PairingOutcome(
        dropped=(Dropped("vector", causeless, "no_cause"),)
    )
    assert pairing.pending("vector") == 0


def test_a_discarded_vector_releases_its_bar_and_the_bar_is_ignored_when_it_comes():
    pairs = stream(count=2)
    pairing = Pairing(stale_after=1, max_pending=10)
    (bar, vector), (later_bar, later_vector) = pairs
    pairing.add_bar(bar)
    pairing.discard(vector)  # its bar waits no more
    assert pairing.pending("bar") == 0
    pairing.discard(later_vector)  # its bar has not come yet
    assert pairing.add_bar(later_bar).duplicate


def test_bounds_below_one_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        Pairing(stale_after=0, max_pending=10)
    with pytest.raises(ValueError, match="at least 1"):
        Pairing(stale_after=1, max_pending=0)
