"""Masking the parts of notebook output that change from run to run without meaning anything.

A clean re-run must not raise a false alarm because ``object()`` printed another address, because
``datetime.now()`` moved on, or because a progress bar ran at another speed. :func:`mask` rewrites
each such part into a fixed placeholder (``0x<ADDR>``, ``<DATETIME>``, ``<DURATION>``...), so two
outputs that differ only there compare equal, and what is left to compare is what the notebook
computed.

What is masked, in this order (earlier rules see the raw text):

- ANSI colour/cursor escape codes (stripped), lone surrogates from undecodable bytes (turned into
  U+FFFD), backspaces, and carriage-return overwrites: of a line rewritten with ``\\r`` only the
  final state is kept, as a terminal or JupyterLab would show it (tqdm bars, ``print(..., end="\\r")``).
- Kernel connection files, ipykernel's cell files (``/tmp/ipykernel_123/4567.py``,
  ``<ipython-input-3-abc>``, ``Cell In[7]``), temporary paths (``/tmp/...``, ``/var/folders/...``,
  ``C:\\Users\\...\\AppData\\Local\\Temp\\...``, ``tmpXXXXXXXX`` names), UUIDs.
- Memory addresses (``0x7f3a1c2b4d60``, ``<... at 0x...>``) and object ids: ``id(x)`` prints a
  CPython address as a decimal. A bare integer of 10-16 digits that is a multiple of 8 between
  2**32 and 2**48 and does not end in six zeros is taken for one. This is a heuristic: a real
  count that happens to look like that is masked too (both sides alike, so it can only hide a
  difference, never invent one).
- Dates and times: ISO 8601 (``2026-11-27``, ``2026-11-27 10:54:40.123456+00:00``),
  ``27/11/2026``, ``Nov 27, 2026``, ``Fri Nov 27 10:54:40 2026``, RFC 2822, ``10:54:40``, epoch
  seconds with a fraction (``1764240880.12``), epoch milliseconds, and the reprs
  ``datetime.datetime(2026, 11, 27, 10, 54, 40, 123456)`` / ``datetime.date(2026, 11, 27)``.
  Only where they actually vary (:func:`mask_pair`): a date close to the current time (within a
  day; a time of day alone within two hours) is the clock's, and so is one two clean runs
  disagree on; any other date is data and stays, so a 2013 that became 1970 is reported with the
  part that differs. ``mask(text)`` alone masks every date (it has nothing to compare with).
- Durations: ``Wall time: ...``, ``CPU times: ...``, ``%timeit`` summaries, tqdm's
  ``[00:01<00:02, 3.4it/s]``, rates (``12.3it/s``, ``4.5MB/s``), numbers with a sub-second unit
  (``12.3 ms``, ``45 µs``), fractional seconds/minutes/hours (``took 1.23 s``), whole ones after
  ``took``/``elapsed``/``in``/``after``/``duration``, and ``2s`` written without a space.
- Process and thread ids: ``pid=1234``, ``[pid 123]``, ``PID: 7``, ``Process-3``,
  ``ForkPoolWorker-2``, ``Thread-5``, ``ThreadPoolExecutor-0_1``.
- Host names, only in the explicit ``host=...`` / ``hostname: ...`` forms.

Floats are *not* masked: :mod:`jupyter_deploy.check.compare` compares them with a tolerance.
"""

from __future__ import annotations

import re

__all__ = [
    "date_tokens", "final_state", "mask", "mask_now", "mask_pair", "mask_svg_ids", "near_now",
    "strip_ansi", "strip_warnings",
]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BACKSPACE = re.compile(r"[^\n\x08]\x08")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves, OSC titles)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def final_state(text: str) -> str:
    """What a terminal shows in the end: backspaces applied, ``\\r``-overwritten lines resolved.

    A line rewritten with carriage returns keeps only its last non-empty segment (a progress bar
    keeps its final state). ``\\r\\n`` is a plain line end.
    """
    if "\x08" in text:
        prev = None
        while prev != text:
            prev, text = text, _BACKSPACE.sub("", text)
        text = text.replace("\x08", "")
    if "\r" not in text:
        return text
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            segments = [s for s in line.split("\r") if s]
            line = segments[-1] if segments else ""
        lines.append(line)
    return "\n".join(lines)


# Warnings as printed by the warnings module: "path:lineno: Category: message" then the source line
# indented by two spaces.
_WARNING_HEAD = re.compile(r"^\S.*?:\d+: (?:[A-Z]\w*Warning|Warning|DeprecationWarning)\b:? ")


def strip_warnings(text: str) -> str:
    """``text`` (a stderr stream) without the ``warnings`` module's messages.

    A warning is printed once per code location per process, so whether it appears depends on
    what ran before in that kernel (a live session that re-ran a cell shows it once, a clean run
    shows it again), and its path and line number depend on the installed library versions. Its
    presence or absence says nothing about whether the notebook's results repeat, so the header
    line (``file.py:12: FutureWarning: ...``) and the indented source line(s) that follow it are
    removed before stderr is compared. Anything else on stderr (logging, errors printed by hand)
    is still compared, after :func:`mask`.
    """
    if "Warning" not in text:
        return text
    lines = text.split("\n")
    out = []
    i, n = 0, len(lines)
    while i < n:
        if not _WARNING_HEAD.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        # The message may span lines (scikit-learn's ConvergenceWarning does); the block ends
        # with the source line, which the warnings module indents by exactly two spaces.
        end = None
        for j in range(i + 1, min(n, i + 1 + _WARNING_MAX_LINES)):
            if _WARNING_HEAD.match(lines[j]):
                break
            if _WARNING_SOURCE.match(lines[j]):
                end = j
                break
        i = i + 1 if end is None else end + 1
    return "\n".join(out)


_WARNING_SOURCE = re.compile(r"^  \S")
_WARNING_MAX_LINES = 30


_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
)
_WEEKDAY = (
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b\.?"
)
_PATH_CHARS = r"[^\s'\"<>:,;()\[\]{}|]"
_DURATION_UNIT = r"(?:s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?)"
_SUBSECOND_UNIT = r"(?:ns|µs|μs|us|ms)"
_NUM = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"

# (pattern, replacement, guard); applied in order. A rule runs only when one of its guard strings
# occurs in the text (a plain substring test is far cheaper than a regex scan); None: always.
_MONTH_HINTS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RULES: list[tuple[re.Pattern, object, object]] = [
    # kernel plumbing
    # (a lazy run from the start of a path token only, so a long token without a match stays linear)
    (
        re.compile(r"(?<![^\s'\"(\[=])[^\s'\"]*?kernel-[0-9A-Za-z-]+\.json"),
        "<CONNECTION-FILE>",
        ("kernel-",),
    ),
    (
        re.compile(r"(?<![^\s'\"(\[=])[^\s'\"]*?ipykernel_\d+[/\\]\d+\.py"),
        "<CELL-FILE>",
        ("ipykernel_",),
    ),
    (re.compile(r"<ipython-input-\d+-[0-9a-fA-F]+>"), "<CELL-FILE>", ("<ipython-input-",)),
    (re.compile(r"\b(Cell In|In|Out)\[\d+\]"), r"\1[<N>]", ("In[", "Out[")),
    (re.compile(r"\b0x[0-9a-fA-F]{8,16}\b"), "0x<ADDR>", ("0x",)),
    # temporary paths
    (re.compile(r"(?:/private)?/var/folders/" + _PATH_CHARS + "*"), "<TMP>", ("/var/folders/",)),
    (re.compile(r"(?<![\w.])/tmp/" + _PATH_CHARS + "*"), "<TMP>", ("/tmp/",)),
    (
        re.compile(
            r"[A-Za-z]:\\+Users\\+[^\\\s]+\\+AppData\\+Local\\+Temp(?:\\+[^\s'\"<>:,;]*)?",
            re.IGNORECASE,
        ),
        "<TMP>",
        ("AppData", "appdata", "APPDATA"),
    ),
    (re.compile(r"\btmp[a-z0-9_]{6,}\b"), "<TMP>", ("tmp",)),
    # identifiers
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<UUID>",
        ("-",),
    ),
    # durations that contain times or dates: before the date/time rules
    (re.compile(r"(Wall time:).*"), r"\1 <DURATION>", ("Wall time:",)),
    (re.compile(r"(CPU times:).*"), r"\1 <DURATION>", ("CPU times:",)),
    (re.compile(r"^.*\bper loop \((?:mean|best).*$", re.MULTILINE), "<TIMEIT>", ("per loop",)),
    (re.compile(r"^.*\bloops?, best of \d+:.*$", re.MULTILINE), "<TIMEIT>", ("best of",)),
    (
        # %timeit prints it on some runs only: dropped, or two runs would differ by a line
        re.compile(r"^The slowest run took .* times longer than the fastest\..*(?:\n|$)", re.MULTILINE),
        "",
        ("slowest run",),
    ),
    (
        re.compile(r"\[(?:\d+:)?\d{1,2}:\d{2}<(?:(?:\d+:)?\d{1,2}:\d{2}|\?)(?:,[^\]\n]*)?\]"),
        "[<ELAPSED>]",
        ("<",),
    ),
    (
        re.compile(
            r"(?<![\w.])(?:" + _NUM + r"|\?)\s?(?:[kMGT]i?)?(?:it|B|b|bytes|samples|steps?)/s\b"
        ),
        "<RATE>",
        ("/s",),
    ),
    (re.compile(r"(?<![\w.])" + _NUM + r"\s?s/(?:it|step)\b"), "<RATE>", ("s/it", "s/step")),
    # dates and times (index range kept in _DATE_RULES)
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:\s?(?:Z|UTC|GMT)|[+-]\d{2}:?\d{2})?(?!\d)"
        ),
        "<DATETIME>",
        ("-",),
    ),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?!\d)"), "<DATE>", ("-",)),
    (
        re.compile(
            r"\b((?:datetime\.)?(?:datetime|date))\(\d{1,4}(?:, ?\d+){2,6}(?:, ?tzinfo=[^()\n]*(?:\([^()\n]*\))?[^()\n]*)?\)"
        ),
        r"\1(<DATETIME>)",
        ("date",),
    ),
    (
        re.compile(
            r"\b\d{4}/\d{1,2}/\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}\.\d{1,2}\.\d{4}\b"
        ),
        "<DATE>",
        ("/", "."),
    ),
    (
        re.compile(
            r"\b(?:"
            + _WEEKDAY
            + r",?\s+)?(?:\d{1,2}\s+"
            + _MONTH
            + r"|"
            + _MONTH
            + r"\s+\d{1,2}(?:st|nd|rd|th)?)"
            r",?(?:\s+\d{4})?(?:\s+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:\s+\d{4})?"
            r"(?:\s+(?:[+-]\d{4}|UTC|GMT|[A-Z]{3,4}))?(?!\w)"
        ),
        "<DATETIME>",
        _MONTH_HINTS,
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?[AaPp][Mm])?(?!\d)"), "<TIME>", (":",)),
    (re.compile(r"\b\d{1,2}:\d{2}\s?[AaPp][Mm]\b"), "<TIME>", (":",)),
    (re.compile(r"(?<![\w.])1[5-9]\d{8}\.\d+(?![\w.])"), "<EPOCH>", (".",)),
    (re.compile(r"(?<![\w.])1[5-9]\d{11}(?![\w.])"), "<EPOCH>", None),
    # durations with units
    (
        re.compile(r"(?<![\w.])" + _NUM + r"\s?" + _SUBSECOND_UNIT + r"(?![\w])"),
        "<DURATION>",
        ("s",),
    ),
    (re.compile(r"(?<![\w.])\d+\.\d+\s?" + _DURATION_UNIT + r"(?![\w])"), "<DURATION>", (".",)),
    (
        re.compile(
            r"\b(took|elapsed|in|after|duration|runtime|time)(\s*[=:]?\s*)\d+\s?"
            + _DURATION_UNIT
            + r"(?![\w])",
            re.IGNORECASE,
        ),
        r"\1\2<DURATION>",
        None,
    ),
    (re.compile(r"(?<![\w.])\d+s(?![\w.])"), "<DURATION>", ("s",)),
    # processes, threads, hosts
    (re.compile(r"\[pid \d+\]", re.IGNORECASE), "[pid <PID>]", ("pid", "PID", "Pid")),
    (
        re.compile(
            r"\b(pid|tid|ppid|thread_id|process_id|thread id|process id)(\s*[=:]\s*|\s+)\d+",
            re.IGNORECASE,
        ),
        r"\1\2<PID>",
        ("pid", "PID", "Pid", "tid", "TID", "hread", "rocess", "HREAD", "ROCESS"),
    ),
    (
        re.compile(r"\b(\w*(?:Process|Thread|PoolWorker|Worker|ThreadPoolExecutor))-\d+(?:_\d+)?"),
        r"\1-<N>",
        ("Process", "Thread", "Worker", "Executor"),
    ),
    (
        re.compile(r"\b(id)(\s*[=:]\s*|\s+)\d{9,}(?![\w.])", re.IGNORECASE),
        r"\1\2<ID>",
        ("id", "ID", "Id", "iD"),
    ),
    (
        re.compile(r"\b(host|hostname)(\s*[=:]\s*)[\w.-]+", re.IGNORECASE),
        r"\1\2<HOST>",
        ("host", "Host", "HOST"),
    ),
]

_DATE_FIRST = next(i for i, r in enumerate(_RULES) if r[1] == "<DATETIME>")
_DATE_LAST = next(i for i, r in enumerate(_RULES) if r[1] == "<EPOCH>" and r[2] is None)
_DATE_RULES = frozenset(range(_DATE_FIRST, _DATE_LAST + 1))

_BIG_INT = re.compile(r"(?<![\w.+-])[1-9]\d{9,15}(?![\w.])")


def _object_id(m: re.Match) -> str:
    digits = m.group(0)
    value = int(digits)
    if value % 8 == 0 and 2**32 <= value < 2**48 and not digits.endswith("000000"):
        return "<ID>"
    return digits


def mask(text: str, dates=None) -> str:
    """``text`` with its volatile parts replaced by placeholders (see the module docstring).

    ``dates`` decides which dates and times are masked: a function of the matched text (True:
    mask it); None masks every one (pattern alone: only for a text with nothing to compare it
    to). Comparisons use :func:`mask_pair`, which masks a date only where it varies.

    Idempotent: ``mask(mask(t)) == mask(t)``. Never raises on odd text (lone surrogates,
    control characters, mojibake).
    """
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    text = strip_ansi(text)
    text = final_state(text)
    # A placeholder can give a neighbour the boundary it lacked ("...27tmpab12cd34" becomes
    # "<DATE>tmpab12cd34"), so repeat until nothing changes; usually one pass, rarely two.
    kept: list = []  # dates left as they are, hidden from the later rules until the end
    for _ in range(4):
        before = text
        text = _one_pass(text, dates, kept)
        if text == before or not _GLUED.search(text):
            break
    if kept:
        text = _KEPT.sub(lambda m: kept[_kept_index(m.group(1))], text)
    return text


_KEPT = re.compile("\ue000([\ue100-\ue1ff]+)\ue001")


def _kept_token(n: int) -> str:
    digits = ""
    while True:
        digits = chr(0xE100 + n % 256) + digits
        n //= 256
        if not n:
            return "\ue000" + digits + "\ue001"


def _kept_index(digits: str) -> int:
    n = 0
    for ch in digits:
        n = n * 256 + (ord(ch) - 0xE100)
    return n


# a placeholder glued to a word character or a path: the only place a second pass can match
_GLUED = re.compile(r">[\w/\\.]|[\w.]<(?!ADDR>)[A-Z]")


def _one_pass(text: str, dates=None, kept=None) -> str:
    for index, (pattern, repl, guard) in enumerate(_RULES):
        if guard is not None:
            for g in guard:
                if g in text:
                    break
            else:
                continue
        if dates is not None and index in _DATE_RULES:
            def decide(m, repl=repl):
                if dates(m.group(0)):
                    return m.expand(repl)
                kept.append(m.group(0))
                return _kept_token(len(kept) - 1)

            text = pattern.sub(decide, text)
        else:
            text = pattern.sub(repl, text)
    return _BIG_INT.sub(_object_id, text)


# ------------------------------------------------------------------ dates that actually vary

NEAR_NOW_DAYS = 1.0  # a date this close to the current time is the clock's, not the data's
NEAR_NOW_TIME_MINUTES = 120  # a time of day alone: this close to the time of day now


def date_tokens(text: str) -> list:
    """The dates and times :func:`mask` would mask in ``text``, in the order it finds them."""
    found: list = []
    mask(text, dates=lambda t: found.append(t) or True)
    return found


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_REPR = re.compile(r"\((\d{1,4}), ?(\d+), ?(\d+)(?:, ?(\d+))?(?:, ?(\d+))?(?:, ?(\d+))?")
_SLASH_YMD = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_SLASH_DMY = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?(?:\s?([AaPp])[Mm])?")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_WORD = re.compile(r"[A-Za-z]+")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DAY = re.compile(r"(?<![\d:])(\d{1,2})(?:st|nd|rd|th)?(?![\d:])")


def _candidates(token: str, now):
    """The datetimes (naive) a date token can mean; [] when it is only a time of day."""
    import datetime as dt

    def make(y, mo, d, h=None, mi=None, s=None):
        try:
            when = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
            return when, h is not None
        except (ValueError, TypeError):
            return None

    out = []
    m = _ISO.search(token)
    if m:
        out.append(make(*m.groups()))
    elif "(" in token:
        m = _REPR.search(token)
        if m:
            out.append(make(*m.groups()))
    elif _SLASH_YMD.search(token):
        out.append(make(*_SLASH_YMD.search(token).groups()))
    elif _SLASH_DMY.search(token):
        a, b, y = _SLASH_DMY.search(token).groups()
        out += [make(y, b, a), make(y, a, b)]
    else:
        words = [w[:3].lower() for w in _WORD.findall(token) if len(w) >= 3]
        month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
        if month:
            year = _YEAR.search(token)
            day = _DAY.search(_YEAR.sub(" ", token))
            if day:
                clock = _CLOCK.search(token)
                h, mi, sec = clock.group(1, 2, 3) if clock else (None, None, None)
                y = year.group(1) if year else now.year
                out.append(make(y, month, day.group(1), h, mi, sec))
    return [c for c in out if c]


def near_now(token: str, now=None) -> bool:
    """Whether a date, time or epoch (as :func:`mask` finds them) is within a day of ``now``
    (default: the current time, local or UTC), so it is the clock's and not the data's. A time
    of day alone counts when it is within two hours of the time of day now."""
    import datetime as dt

    utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    nows = [now] if now is not None else [dt.datetime.now(), utc]
    token = token.strip()
    if re.fullmatch(r"1[5-9]\d{8}\.\d+|1[5-9]\d{11}", token):  # epoch seconds / milliseconds
        seconds = float(token) / (1000 if "." not in token and len(token) == 13 else 1)
        ref = nows[0].timestamp() if now is not None else dt.datetime.now().timestamp()
        return abs(seconds - ref) <= NEAR_NOW_DAYS * 86400
    cands = _candidates(token, nows[0])
    if cands:
        for when, has_time in cands:
            for n in nows:
                if has_time:
                    if abs((when - n).total_seconds()) <= NEAR_NOW_DAYS * 86400 + 3600:
                        return True
                elif abs((when.date() - n.date()).days) <= NEAR_NOW_DAYS:
                    return True
        return False
    clock = _CLOCK.search(token)
    if not clock:
        return False
    h, mi = int(clock.group(1)), int(clock.group(2))
    if clock.group(4):
        h = h % 12 + (12 if clock.group(4) in "Pp" else 0)
    for n in nows:
        delta = abs((h * 60 + mi) - (n.hour * 60 + n.minute))
        if min(delta, 1440 - delta) <= NEAR_NOW_TIME_MINUTES:
            return True
    return False


def mask_pair(a: str, b: str, *, between_runs: bool = False, now=None) -> tuple:
    """``mask`` of two texts to compare, masking a date or time only where it actually varies:
    when it is close to the current time (the clock printed it), or when the two texts are two
    clean runs that disagree on it. A date that differs for any other reason (2013 became 1970)
    stays as it is, so the difference shows, with the part that differs.

    Dates are paired in the order they are found; a differing pair counts as varying when
    either side does."""
    ta, tb = date_tokens(a), date_tokens(b)
    if not ta and not tb:
        return mask(a), mask(b)
    volatile = {t for t in ta + tb if near_now(t, now)}
    for x, y in zip(ta, tb):
        if x != y and (between_runs or x in volatile or y in volatile):
            volatile.update((x, y))
    keep = volatile.__contains__
    return mask(a, dates=keep), mask(b, dates=keep)


def mask_now(text: str) -> str:
    """``mask`` of one text, masking only dates close to the current time (for summaries)."""
    return mask(text, dates=near_now)


_SVG_ID = re.compile(r"""\bid=(["'])[^"']*\1""")
_SVG_URL = re.compile(r"url\(#[^)]*\)")
_SVG_HREF = re.compile(r"""(href=)(["'])#[^"']*\2""")
_SVG_DATE = re.compile(r"<dc:date>[^<]*</dc:date>")


def mask_svg_ids(svg: str) -> str:
    """An SVG with its element ids and the references to them masked.

    matplotlib salts its SVG ids with a random value per figure, so they differ on every run,
    and writes the time the figure was made into its ``<dc:date>`` metadata.
    """
    svg = _SVG_DATE.sub("<dc:date><DATETIME></dc:date>", svg)  # when the file was written
    svg = _SVG_ID.sub('id="<ID>"', svg)
    svg = _SVG_URL.sub("url(#<ID>)", svg)
    return _SVG_HREF.sub(r'\1"#<ID>"', svg)
