"""The pipeline's pause of the garbage collector always ends, however it is nested."""

from __future__ import annotations

import gc
import threading

import pytest

from reconciler.pipeline import gc_paused


def test_gc_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_gc_pause_across_threads_ends_with_the_last() -> None:
    inside = threading.Barrier(2)
    first_done = threading.Event()

    def first() -> None:
        with gc_paused():
            inside.wait()
        first_done.set()

    thread = threading.Thread(target=first)
    thread.start()
    with gc_paused():
        inside.wait()
        first_done.wait(5)
        assert not gc.isenabled(), "another pause is still running"
    thread.join(5)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_pipeline_and_the_caddy_provider_share_one_pause() -> None:
    """A pause that ends in one caller must not end another's (they had two counts)."""
    from reconciler import gcpause  # what the Caddy provider pauses with

    inside = threading.Barrier(2)
    pipeline_done = threading.Event()

    def pipeline_side() -> None:
        with gc_paused():
            inside.wait()
        pipeline_done.set()

    thread = threading.Thread(target=pipeline_side)
    thread.start()
    with gcpause.paused():
        inside.wait()
        pipeline_done.wait(5)
        assert not gc.isenabled(), "the Caddy provider's pause ended with the pipeline's"
    thread.join(5)
    assert gc.isenabled()
