"""Whether two printed texts differ, and how: the line diff every output comparison uses.

Texts arrive already masked (:mod:`jupyter_deploy.check.masks`). Lines equal up to whitespace,
or whose numbers agree within a relative tolerance, count as equal; what is left is a
:class:`TextDiff` with a unified diff and the values that differ. Both the output comparison
(:mod:`jupyter_deploy.check.compare`) and the format-drift rules (:mod:`jupyter_deploy.check.drift`)
use it.
"""

from __future__ import annotations

import difflib
import re

ABS_TOL = 1e-12
DIFF_LIMIT = 8000

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w)(?!\.\d)")
_SPACE = re.compile(r"\s+")
_ITEM = re.compile(r"[^\s,;{}\[\]()]+")


def _norm(line: str) -> str:
    return _SPACE.sub(" ", line).strip()


def _split_numbers(line: str):
    nums = _NUMBER.findall(line)
    return _NUMBER.sub("\0", line), nums


def _is_float(tok: str) -> bool:
    return "." in tok or "e" in tok or "E" in tok


def _numbers_close(a: str, b: str, tol: float) -> bool:
    if a == b:
        return True
    if _is_float(a) != _is_float(b):
        return False
    if not _is_float(a):
        return int(a) == int(b)
    x, y = float(a), float(b)
    return abs(x - y) <= max(tol * max(abs(x), abs(y)), ABS_TOL)


def _lines_close(a: str, b: str, tol: float) -> bool:
    """Two normalised lines are equal up to number tolerance."""
    if a == b:
        return True
    sa, na = _split_numbers(a)
    sb, nb = _split_numbers(b)
    if sa != sb or len(na) != len(nb):
        return False
    return all(_numbers_close(x, y, tol) for x, y in zip(na, nb))


def _differing_values(a: str, b: str, tol: float) -> list[tuple[str, str]]:
    sa, na = _split_numbers(a)
    sb, nb = _split_numbers(b)
    if sa != sb or len(na) != len(nb):
        return []
    return [(x, y) for x, y in zip(na, nb) if not _numbers_close(x, y, tol)]


class TextDiff:
    """How two masked texts differ: ``kind`` is "numbers", "order", "items-order" or "text"."""

    def __init__(self, kind, nlines, values, pairs, udiff, labels=("saved", "clean")):
        self.labels = labels
        self.kind = kind
        self.nlines = nlines
        self.values = values  # [(saved, clean)] of the first differing numbers
        self.pairs = pairs  # [(saved line, clean line)] of the first differing lines
        self.udiff = udiff

    def detail(self, unit: str = "line", sep: str | None = None) -> str:
        if self.kind == "order":
            return "same lines in a different order"
        if self.kind == "items-order":
            return "same items in a different order"
        n = self.nlines
        head = f"{n} {unit}{'s' if n != 1 else ''}"
        if self.values:
            shown = ", ".join(f"{a} -> {b}" for a, b in self.values[:3])
            more = ", ..." if len(self.values) > 3 else ""
            where = ""
            if sep and self.pairs:
                fa, fb = self.pairs[0][0].split(sep), self.pairs[0][1].split(sep)
                if len(fa) == len(fb) > 1 and fa[0] == fb[0] and fa[0]:
                    where = f"row {_short(fa[0], 30)!r}: "
            return f"{head}; {where}values {shown}{more}"
        if self.pairs:
            a, b = self.pairs[0]
            if sep:
                fa, fb = a.split(sep), b.split(sep)
                if len(fa) == len(fb):
                    changed = [(x, y) for x, y in zip(fa, fb) if x != y]
                    if changed:
                        where = f"row {_short(fa[0], 30)!r}: " if fa[0] == fb[0] and fa[0] else ""
                        shown = ", ".join(
                            f"{_short(x, 40)!r} -> {_short(y, 40)!r}" for x, y in changed[:3]
                        )
                        return f"{head}; {where}{shown}"
            if a and b:
                return f"{head}; {_short(a)!r} -> {_short(b)!r}"
            if b:
                return f"{head}; only in {_who(self.labels[1])}: {_short(b)!r}"
            if a:
                return f"{head}; only in {_who(self.labels[0])}: {_short(a)!r}"
        return head


def _who(label: str) -> str:
    return {"saved": "the saved notebook", "clean": "the clean run"}.get(label, label)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_text(
    saved: str, clean: str, float_tol: float = 1e-6, labels=("saved", "clean")
) -> TextDiff | None:
    """``None`` when two (already masked) texts are equal up to whitespace and number tolerance,
    else a :class:`TextDiff` saying how they differ, with a unified diff."""
    if saved == clean:
        return None
    a = saved.splitlines()
    b = clean.splitlines()
    while a and not a[-1].strip():
        a.pop()
    while b and not b[-1].strip():
        b.pop()
    na = [_norm(x) for x in a]
    nb = [_norm(x) for x in b]
    if na == nb:
        return None
    if len(na) == len(nb) and all(_lines_close(x, y, float_tol) for x, y in zip(na, nb)):
        return None

    # Align the lines, then let the lines that are close within tolerance count as equal.
    shown_b = list(b)
    matched_b = list(nb)
    # (exact matching is quadratic in the worst case: let difflib's heuristic handle huge outputs)
    sm = difflib.SequenceMatcher(None, na, nb, autojunk=len(na) + len(nb) > 4000)
    pairs: list[tuple[str, str]] = []
    values: list[tuple[str, str]] = []
    nlines = 0
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace":
            for k in range(min(i2 - i1, j2 - j1)):
                x, y = na[i1 + k], nb[j1 + k]
                if _lines_close(x, y, float_tol):
                    shown_b[j1 + k] = a[i1 + k]
                    matched_b[j1 + k] = x
                else:
                    nlines += 1
                    pairs.append((x, y))
                    values.extend(_differing_values(x, y, float_tol))
            extra = abs((i2 - i1) - (j2 - j1))
            nlines += extra
            if extra and not pairs:
                if i2 - i1 > j2 - j1:
                    pairs.append((na[i1 + (j2 - j1)], ""))
                else:
                    pairs.append(("", nb[j1 + (i2 - i1)]))
        else:
            nlines += max(i2 - i1, j2 - j1)
            if not pairs:
                pairs.append(("\n".join(na[i1:i2])[:200], "\n".join(nb[j1:j2])[:200]))
    if nlines == 0:
        return None

    if sorted(na) == sorted(matched_b):
        kind = "order"
    elif (
        len(na) == len(nb)
        and all(
            sorted(_ITEM.findall(x)) == sorted(_ITEM.findall(y))
            for x, y in zip(na, matched_b)
            if x != y
        )
        and any(len(_ITEM.findall(x)) > 1 for x, y in zip(na, matched_b) if x != y)
    ):
        kind = "items-order"
    elif values and len(values) >= 1 and all(_differing_values(x, y, float_tol) for x, y in pairs):
        kind = "numbers"
    else:
        kind = "text"
    udiff = "\n".join(
        difflib.unified_diff(a, shown_b, f"{labels[0]}", f"{labels[1]}", lineterm="", n=2)
    )
    if len(udiff) > DIFF_LIMIT:
        udiff = udiff[:DIFF_LIMIT] + f"\n... (diff truncated, {len(udiff)} characters in all)"
    if kind != "numbers":
        values = values if kind == "text" else []
    return TextDiff(kind, nlines, values, pairs, udiff, labels)


# ----------------------------------------------------------------------------------- HTML text
