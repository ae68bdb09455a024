"""A run's output: only its end is kept, and no secret value survives, even cut in two."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.scheduler.output import OutputTail
from reconciler.model.schedule import OUTPUT_LIMIT
from reconciler.model.sensitive import Sensitive

SECRET = Sensitive("hunter2-correct-horse")


def test_short_output_is_kept_whole_and_redacted() -> None:
    out = OutputTail()
    out.write(b"token=hunter2-correct-horse\n")
    out.write("done ✓\n")
    text, cut = out.text([SECRET])
    assert text == "token=(sensitive)\ndone ✓\n" and not cut


def test_long_output_keeps_the_last_64_kib() -> None:
    out = OutputTail()
    for n in range(20000):
        out.write(f"line {n:06d}\n".encode())
    text, cut = out.text([])
    assert cut and len(text.encode()) <= OUTPUT_LIMIT
    assert text.endswith("line 019999\n")
    assert "line 000000" not in text


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=5000),
       st.sampled_from([SECRET, Sensitive("k" * 700 + "-tail")]))
def test_a_secret_cut_by_the_window_never_leaks(shift: int, chunk: int,
                                                 secret: Sensitive) -> None:
    out = OutputTail(limit=4096)
    value = secret.reveal().encode()
    payload = (b"x" * shift + value + b"y" * 40) * (300_000 // (len(value) + 40 + shift))
    for i in range(0, len(payload), chunk):
        out.write(payload[i:i + chunk])
    text, cut = out.text([Sensitive("abc"), secret])
    assert cut and len(text.encode()) <= 4096
    tail = secret.reveal()[-4:]
    assert tail not in text, "a piece of the secret survived"
    assert "(sensitive)" in text


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    out = OutputTail()
    out.write(b"\xff\xfeok\n")
    text, _ = out.text([])
    assert text.endswith("ok\n")
