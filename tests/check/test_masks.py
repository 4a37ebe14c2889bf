"""The masking of volatile output parts: what must become equal, and what must stay different."""

from __future__ import annotations

import pytest

from jupyter_deploy.check.masks import final_state, mask, mask_svg_ids, strip_ansi, strip_warnings

# Pairs of outputs that two runs of the same notebook can print: they must mask to the same text.
SAME_AFTER_MASK = [
    ("<object object at 0x7f3a1c2b4d60>", "<object object at 0x7f12aa0b1e30>"),
    ("<function f at 0x10a2b3c4d>", "<function f at 0x10f9e8d7c>"),
    ("140234567890128", "139876543210016"),  # id(x): CPython addresses are multiples of 16
    ("id=140234567890123", "id=140234567812345"),
    ("2026-11-27 10:54:40.123456", "2026-11-28 09:01:02.000001"),
    ("2026-11-27T10:54:40Z", "2026-12-01T00:00:00Z"),
    ("2026-11-27T10:54:40+01:00", "2027-01-01T10:54:40-05:00"),
    ("today is 2026-11-27", "today is 2026-11-30"),
    ("Fri Nov 27 10:54:40 2026", "Sat Nov 28 08:00:01 2026"),
    ("Fri, 27 Nov 2026 10:54:40 +0000", "Mon, 30 Nov 2026 11:00:00 +0000"),
    ("Nov 27, 2026", "December 1, 2026"),
    ("27/11/2026", "28/11/2026"),
    ("2026-11-27 11:21:27,639 - INFO - loaded", "2026-11-28 08:00:00,001 - INFO - loaded"),
    ("[I 2026-11-27 11:21:27.639 ServerApp] ok", "[I 2026-11-27 11:22:01.001 ServerApp] ok"),
    (
        "datetime.datetime(2026, 11, 27, 11, 22, 38, 830067)",
        "datetime.datetime(2026, 11, 28, 9, 0, 1, 5)",
    ),
    (
        "datetime.datetime(2026, 11, 27, 11, 22, tzinfo=datetime.timezone.utc)",
        "datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)",
    ),
    ("datetime.date(2026, 11, 27)", "datetime.date(2026, 11, 30)"),
    ("at 10:54:40", "at 11:02:59"),
    ("t=1764240880.123456", "t=1764240999.5"),
    ("took 1.23 s", "took 0.98 s"),
    ("12.3 ms", "9.87 ms"),
    ("45 µs", "51 µs"),
    ("done in 3 seconds", "done in 4 seconds"),
    ("Wall time: 1.23 s", "Wall time: 987 ms"),
    (
        "CPU times: user 1.2 ms, sys: 3 µs, total: 1.3 ms",
        "CPU times: user 3 ms, sys: 1 ms, total: 4 ms",
    ),
    (
        "1.23 µs ± 45.6 ns per loop (mean ± std. dev. of 7 runs, 1,000,000 loops each)",
        "2.01 µs ± 3.2 ns per loop (mean ± std. dev. of 7 runs, 100,000 loops each)",
    ),
    (
        (
            "  0%|          | 0/10 [00:00<?, ?it/s]\r 50%|#####     | 5/10 [00:00<00:00, 99.1it/s]"
            "\r100%|##########| 10/10 [00:00<00:00, 1234.56it/s]\n"
        ),
        "  0%|          | 0/10 [00:00<?, ?it/s]\r100%|##########| 10/10 [00:01<00:00, 8.50it/s]\n",
    ),
    ("Epoch 1 - 2s - loss: 0.5", "Epoch 1 - 3s - loss: 0.5"),
    ("12.5MB/s", "3.1MB/s"),
    ("/tmp/ipykernel_1234/5678.py:3: note", "/tmp/ipykernel_99/4321.py:3: note"),
    ("<ipython-input-3-abcdef012345>", "<ipython-input-9-0123456789ab>"),
    ("Cell In[3], line 2", "Cell In[17], line 2"),
    ("saved to /tmp/tmpab12cd34/out.csv", "saved to /tmp/tmpzz99yy00/out.csv"),
    ("/var/folders/xy/abc123/T/tmpq/x.png", "/private/var/folders/ab/zzz/T/tmpr/x.png"),
    (
        r"C:\Users\bob\AppData\Local\Temp\tmpx1\a.csv",
        r"C:\Users\ann\AppData\Local\Temp\tmpy2\a.csv",
    ),
    (
        "kernel-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab.json",
        "kernel-9f8e7d6c-1111-2222-3333-444455556666.json",
    ),
    ("run 123e4567-e89b-12d3-a456-426614174000", "run 00000000-1111-2222-3333-444444444444"),
    ("pid=1234", "pid=98765"),
    ("[pid 123] ready", "[pid 4567] ready"),
    ("PID: 77", "PID: 78"),
    ("Process-3 done", "Process-11 done"),
    ("ForkPoolWorker-2", "ForkPoolWorker-7"),
    ("Thread-5 (worker)", "Thread-12 (worker)"),
    ("ThreadPoolExecutor-0_1", "ThreadPoolExecutor-3_0"),
    ("host=web01.example.com", "host=ci-runner-7"),
    ("\x1b[31mred\x1b[0m", "red"),
    ("abc\bd", "abd"),
]

# Outputs that differ in meaning: they must stay different after masking.
DIFFERENT_AFTER_MASK = [
    ("accuracy 0.8312", "accuracy 0.9312"),
    ("n=120", "n=121"),
    ("version 1.26.4", "version 1.26.5"),
    ("12 apples", "13 apples"),
    ("3 Decks", "4 Decks"),
    ("0xFFFF", "0xFFFE"),  # short hex constants are not addresses
    ("total 140000000000000", "total 150000000000000"),  # round numbers are not ids
    ("count 4294967297", "count 4294967299"),  # not multiples of 8
    ("rows: 1000", "rows: 1001"),
]


@pytest.mark.parametrize("a,b", SAME_AFTER_MASK)
def test_volatile_parts_mask_to_the_same_text(a, b):
    assert mask(a) == mask(b), (mask(a), mask(b))


@pytest.mark.parametrize("a,b", DIFFERENT_AFTER_MASK)
def test_meaningful_parts_stay_different(a, b):
    assert mask(a) != mask(b)


@pytest.mark.parametrize("a,_", SAME_AFTER_MASK + DIFFERENT_AFTER_MASK)
def test_mask_is_idempotent(a, _):
    assert mask(mask(a)) == mask(a)


def test_placeholders_are_readable():
    assert mask("<object object at 0x7f3a1c2b4d60>") == "<object object at 0x<ADDR>>"
    assert mask("now: 2026-11-27 10:54:40.123456") == "now: <DATETIME>"
    assert mask("Wall time: 1.23 s") == "Wall time: <DURATION>"
    assert mask("saved to /tmp/abc/x.csv") == "saved to <TMP>"
    assert mask("pid=1234") == "pid=<PID>"


def test_carriage_return_keeps_final_state_only():
    assert final_state("10%\r50%\r100%\n") == "100%\n"
    assert final_state("a\r\nb\r\n") == "a\nb\n"
    assert final_state("done\r") == "done"
    assert final_state("one\ntwo\rTWO\nthree") == "one\nTWO\nthree"


def test_ansi_codes_are_stripped():
    assert strip_ansi("\x1b[1;32mOK\x1b[0m \x1b]0;title\x07end") == "OK end"


def test_odd_text_never_raises():
    for text in [
        "a\udcffb",
        "caf\xc3\xa9",
        "\x00\x01\x02",
        "\ud800",
        "",
        "\r\r\r",
        "\b\b",
        "x" * 100_000,
    ]:
        out = mask(text)
        assert isinstance(out, str)
        out.encode("utf-8")  # lone surrogates are replaced, so the text can be written as UTF-8
    assert mask("a\udcffb") == "a\ufffdb"


def test_warnings_are_removed_from_stderr_but_other_lines_stay():
    stderr = (
        "/tmp/ipykernel_12/345.py:3: FutureWarning: the default will change\n"
        "  df.groupby('a').mean()\n"
        "INFO loaded 10 rows\n"
        "/usr/lib/python3/dist-packages/x.py:9: DeprecationWarning: old\n"
        "  import imp\n"
        "ERROR bad\n"
    )
    assert strip_warnings(stderr) == "INFO loaded 10 rows\nERROR bad\n"
    assert strip_warnings("no warnings here\n") == "no warnings here\n"


def test_multi_line_warning_messages_are_removed_whole():
    sklearn = (
        "/venv/lib/python3.11/site-packages/sklearn/linear_model/_logistic.py:469: ConvergenceWarning: "
        "lbfgs failed to converge (status=1):\n"
        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT.\n"
        "\n"
        "Increase the number of iterations (max_iter) or scale the data as shown in:\n"
        "    https://scikit-learn.org/stable/modules/preprocessing.html\n"
        "  n_iter_i = _check_optimize_result(\n"
        "fitted\n"
    )
    assert strip_warnings(sklearn) == "fitted\n"
    # a header without a source line drops only itself
    assert strip_warnings("x.py:1: UserWarning: odd\nkept\n") == "kept\n"


def test_svg_ids_are_masked():
    a = '<svg><defs><clipPath id="p1a2b3c"><rect/></clipPath></defs><g clip-path="url(#p1a2b3c)"><use xlink:href="#m9f8"/></g></svg>'
    b = '<svg><defs><clipPath id="p9z8y7x"><rect/></clipPath></defs><g clip-path="url(#p9z8y7x)"><use xlink:href="#m0a1"/></g></svg>'
    assert mask_svg_ids(a) == mask_svg_ids(b)


from hypothesis import given, settings
from hypothesis import strategies as st

_PIECES = st.sampled_from(
    [
        "0x7f3a1c2b4d60",
        "2026-11-27",
        " ",
        "10:54:40",
        ".",
        "1.5",
        " s",
        "ms",
        "\r",
        "\n",
        "\b",
        "\x1b[0m",
        "/tmp/",
        "pid=",
        "12",
        "Nov",
        "27",
        ",",
        "id ",
        "140234567890128",
        "<",
        ">",
        "[",
        "]",
        "it/s",
        "tmp",
        "Process-",
        "host=",
        "é",
        "\udcff",
        "took ",
        "kernel-",
        "ipykernel_",
        "/",
        ":",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=25).map("".join))
def test_mask_is_total_and_idempotent_on_random_text(text):
    once = mask(text)
    assert mask(once) == once
    once.encode("utf-8")
