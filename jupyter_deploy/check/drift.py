"""Value or format: two outputs that print the same values differently are drift, not a change.

Libraries change how they print equal values: NumPy 2 prints scalars as ``np.int64(9)`` where
NumPy 1 printed ``9``, pandas 3 names the string dtype ``str`` where pandas 2 said ``object``,
pandas 2 dropped ``Int64Index`` for ``Index``, pandas 3 keeps microseconds (``datetime64[us]``)
where pandas 2 forced nanoseconds, matplotlib 3.7 prints ``<Axes: ...>`` for what older releases
printed as ``<matplotlib.axes._subplots.AxesSubplot at 0x...>``, and display precision rounds
floats to fewer digits. :func:`format_drift` rewrites both (already masked) texts to one
canonical form with the known rules; when that makes them equal, the difference is
``format-drift`` (a warning naming the rule and its library), not an ``output-diff``. A value
that changed stays an error.
"""

from __future__ import annotations

import re
import sys
from typing import Optional

from ..notebook import cell_name
from .textdiff import diff_text

__all__ = ["DriftRule", "RULES", "format_drift", "group_drift"]


class DriftRule:
    def __init__(self, name: str, library: str, pattern: str, repl, flags=0):
        self.name = name
        self.library = library
        self.pattern = re.compile(pattern, flags)
        self.repl = repl

    def apply(self, text: str) -> tuple[str, list]:
        found = [m.group(0) for m in self.pattern.finditer(text)]
        return (self.pattern.sub(self.repl, text) if found else text), found


_NP_TYPES = (
    r"(?:u?int(?:8|16|32|64)|float(?:16|32|64|128)|complex(?:64|128|256)|longdouble|intc|intp"
    r"|str_|bytes_|bool_?)"
)

RULES = [
    DriftRule(
        "NumPy 2 scalar repr", "numpy", r"\bnp\." + _NP_TYPES + r"\(((?:[^()]|\([^()]*\))*)\)", r"\1"
    ),
    DriftRule("NumPy 2 scalar repr", "numpy", r"\bnp\.(True|False)_\b", r"\1"),
    DriftRule("pandas 3 string dtype", "pandas", r"\bdtype: str\b", "dtype: object"),
    DriftRule("pandas 3 string dtype", "pandas", r"""\bdtype=(['"])str\1""", r"dtype=\1object\1"),
    DriftRule("pandas 3 string dtype", "pandas", r"(?m)^(\S.*?\s)str$", r"\1object"),  # df.dtypes
    DriftRule("pandas 2 Index classes", "pandas", r"\b(?:Int64|UInt64|Float64)Index\(", "Index("),
    DriftRule("datetime resolution", "pandas",
              r"\b(datetime64|timedelta64)\[(?:ns|us|ms|s)(, [^\]]+)?\]", r"\1[<UNIT>\2]"),
    DriftRule("matplotlib Axes repr", "matplotlib",
              r"<(?:matplotlib\.axes\._subplots\.)?AxesSubplot(?::[^<>]*| at 0x<ADDR>)>", "<Axes>"),
    DriftRule("matplotlib Axes repr", "matplotlib", r"<Axes(?::[^<>]*)?>", "<Axes>"),
    DriftRule("matplotlib Axes repr", "matplotlib",
              r"<matplotlib\.axes\._axes\.Axes at 0x<ADDR>>", "<Axes>"),
]

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w)(?!\.\d)")
_SPACE = re.compile(r"\s+")


def _canon(text: str) -> tuple[str, dict]:
    """The text in canonical form, and per rule name what it rewrote."""
    hits: dict = {}
    for rule in RULES:
        text, found = rule.apply(text)
        if found:
            hits.setdefault((rule.name, rule.library), []).extend(found)
    return text, hits


def _decimals(tok: str) -> int:
    mant = tok.lower().split("e")[0]
    return len(mant.split(".")[1]) if "." in mant else 0


ROUNDING = ("float formatting", "display precision")


def _same_value_printed_otherwise(x: str, y: str) -> Optional[int]:
    """Two number tokens of one value: 0 when equal; else which one is the other rounded to its
    decimals (-1: ``x``, 1: ``y``); None when they are different values. An integer (no
    decimal point) is never a float rounded to no decimals: ``2`` and ``2.4`` differ."""
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return None
    if fx == fy:
        return 0
    if "e" in x.lower() or "e" in y.lower():
        return None
    short, long_ = (x, y) if _decimals(x) < _decimals(y) else (y, x)
    if _decimals(short) == _decimals(long_) or _decimals(short) == 0:
        return None
    if abs(round(float(long_), _decimals(short)) - float(short)) >= 10 ** -(_decimals(short) + 6):
        return None
    return -1 if short is x else 1


def _lines(text: str) -> list:
    return [_SPACE.sub(" ", ln).strip() for ln in text.splitlines() if ln.strip()]


def format_drift(saved: str, clean: str, float_tol: float = 1e-6) -> Optional[dict]:
    """How two masked texts that differ print equal values differently, or None when a value
    differs (or nothing explains the difference). The answer: ``rules`` [(name, library)],
    ``saved`` and ``clean`` (the first differing line of each, the two forms)."""
    ca, hits_a = _canon(saved)
    cb, hits_b = _canon(clean)
    rules = [
        key for key in {**hits_a, **hits_b}
        if sorted(hits_a.get(key, [])) != sorted(hits_b.get(key, []))
    ]
    la, lb = _lines(ca), _lines(cb)
    if diff_text(ca, cb, float_tol) is not None:
        # the numbers that still differ: drift only when each is the same value printed otherwise
        if len(la) != len(lb):
            return None
        # one precision setting rounds every number the same way: all shorter on one side
        sides = set()
        for x, y in zip(la, lb):
            if x == y:
                continue
            if _NUMBER.sub("#", x) != _NUMBER.sub("#", y):
                return None
            nx, ny = _NUMBER.findall(x), _NUMBER.findall(y)
            if len(nx) != len(ny):
                return None
            for p, q in zip(nx, ny):
                side = _same_value_printed_otherwise(p, q)
                if side is None:
                    return None
                sides.add(side)
        sides.discard(0)
        if len(sides) > 1:
            return None
        if sides:
            rules.append(ROUNDING)
    if not rules:
        return None
    ra, rb = _lines(saved), _lines(clean)
    first = (ra[0] if ra else "", rb[0] if rb else "")
    pair = next(((x, y) for x, y in zip(ra, rb) if x != y), first)
    return {"rules": rules, "saved": pair[0][:120], "clean": pair[1][:120]}


def library_of(rules) -> str:
    libs = []
    for _, lib in rules:
        if lib not in libs:
            libs.append(lib)
    return ", ".join(libs)


def group_drift(findings: list, saved_nb=None, clean_nb=None) -> list:
    """One ``format-drift`` finding per rule and notebook (the cells it touched listed in
    ``cells``), instead of one per output; the saved and current language versions named when
    they differ."""
    findings = _group_versions(findings)
    evidence = version_evidence(findings)
    drift = [f for f in findings if f["kind"] == "format-drift"]
    if not drift:
        return findings
    rest = [f for f in findings if f["kind"] != "format-drift"]
    groups: dict = {}
    for f in drift:
        key = tuple(tuple(r) for r in f["rules"])
        groups.setdefault(key, []).append(f)
    lang = _language_change(saved_nb, clean_nb)
    for key, fs in groups.items():
        first = fs[0]
        cells = sorted({f["cell"] for f in fs})
        names = ", ".join(dict.fromkeys(name for name, _ in key))
        where = cell_name(cells[0]) if len(cells) == 1 else f"cells {', '.join(str(c + 1) for c in cells)}"
        merged = dict(first)
        merged["cells"] = cells
        merged["message"] = (
            f"{where}: equal values print differently ({names}; {library_of(key)}): "
            f"{first['form_saved']!r} -> {first['form_clean']!r}"
            + (f" ({len(fs)} outputs)" if len(fs) > 1 else "")
        )
        merged["library"] = library_of(key)
        seen = [(lib, *evidence[lib]) for lib in merged["library"].split(", ") if lib in evidence]
        if seen:
            merged["versions"] = [[lib, a, b] for lib, a, b, _ in seen]
            merged["message"] += "; " + ", ".join(
                f"{lib} {a} -> {b} (printed in cell {c})" for lib, a, b, c in seen
            )
        if lang:
            merged["message"] += f"; saved with {lang}"
        rest.append(merged)
    return rest


def _group_versions(findings: list) -> list:
    """One ``version-drift`` finding per library and notebook."""
    drift = [f for f in findings if f["kind"] == "version-drift"]
    if len(drift) < 2:
        return findings
    rest = [f for f in findings if f["kind"] != "version-drift"]
    groups: dict = {}
    for f in drift:
        groups.setdefault(tuple(tuple(v) for v in f["versions"]), []).append(f)
    for versions, fs in groups.items():
        cells = sorted({f["cell"] for f in fs})
        merged = dict(fs[0])
        merged["cells"] = cells
        if len(cells) > 1:
            merged["message"] = merged["message"].replace(
                f"cell {cells[0]}:", f"cells {', '.join(map(str, cells))}:", 1
            )
        rest.append(merged)
    return rest


def _language_change(saved_nb, clean_nb) -> str:
    def version(nb):
        if nb is None:
            return None
        li = (nb.get("metadata") or {}).get("language_info") or {}
        return f"{li.get('name', 'python')} {li['version']}" if li.get("version") else None

    a, b = version(saved_nb), version(clean_nb)
    return f"{a}, run with {b}" if a and b and a != b else ""


# ------------------------------------------------------------------ printed version strings

#: a version number as libraries print them (``2.2.3``, ``1.26.4``, ``2.0.0rc1``, ``2.3.0+cpu``)
_VER = r"\d+\.\d+(?:\.\d+)*(?:(?:a|b|rc|\.?post|\.?dev)\d+)*(?:\+[\w.]+)?"
_BARE_VER = re.compile(r"(?<![\w.])" + _VER + r"(?![\w])(?!\.\d)")
_VERSION_EXPR = re.compile(
    r"\b([A-Za-z_][\w.]*)\.__version__\b"
    r"|\bversion\(\s*['\"]([\w.-]+)['\"]\s*\)"
    r"|\b(sys\.version|platform\.python_version)\b"
)
#: distribution names that are imported under another name
_DIST_TO_MODULE = {
    "scikit-learn": "sklearn", "scikit_learn": "sklearn", "pillow": "PIL", "scikit-image": "skimage",
    "opencv-python": "cv2", "beautifulsoup4": "bs4", "pyyaml": "yaml", "python-dateutil": "dateutil",
}


def module_name(name: str) -> str:
    """The import name a printed library name stands for (``scikit-learn`` -> ``sklearn``)."""
    return _DIST_TO_MODULE.get(name.lower(), name if name == "PIL" else name.lower().replace("-", "_"))


def notebook_aliases(nb) -> dict:
    """Names bound by the notebook's imports -> the top-level module they stand for
    (``np`` -> ``numpy``, ``plt`` -> ``matplotlib``)."""
    import ast

    aliases: dict = {}
    for cell in (nb or {}).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source") or ""
        src = "".join(src) if isinstance(src, list) else src
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[(a.asname or a.name).split(".")[0]] = a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    aliases[a.asname or a.name] = node.module.split(".")[0]
    return aliases


def _source_libraries(source: str, aliases: dict) -> list:
    """The libraries whose version the cell's code prints, in order (``np.__version__`` ->
    numpy, ``version('pandas')`` -> pandas, ``sys.version`` -> python)."""
    libs = []
    for m in _VERSION_EXPR.finditer(source or ""):
        if m.group(1):
            head = m.group(1).split(".")[0]
            libs.append(aliases.get(head, head))
        elif m.group(2):
            libs.append(module_name(m.group(2)))
        else:
            libs.append("python")
    return libs


def _version_tokens(text: str, names: set, source_libs: list) -> list:
    """(start, end, library, version) of the version strings in ``text``: a version after a
    library's name (``pandas 2.2.3``, ``numpy: 1.26.4``, ``scikit-learn==1.5.0``), and, in a cell
    whose code prints versions (``np.__version__``), any bare version, attributed in order."""
    found = []
    if names:
        alt = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
        named = re.compile(
            r"(?i)(?<![\w.-])(" + alt + r")(?![\w-])[\s:=,'\"]*(?:version[\s:=]*)?v?(" + _VER + r")(?!\w)"
        )
        for m in named.finditer(text):
            found.append((m.start(2), m.end(2), module_name(m.group(1)), m.group(2)))
    if source_libs:
        taken = [(s, e) for s, e, _, _ in found]
        bare = [m for m in _BARE_VER.finditer(text)
                if not any(s <= m.start() < e for s, e in taken) and _looks_like_version(text, m)]
        # as many as the code prints, in order: a number printed next to them stays a number
        for lib, m in zip(source_libs, bare):
            found.append((m.start(), m.end(), lib, m.group(0)))
    return sorted(found)


def _looks_like_version(text: str, m) -> bool:
    """A bare ``X.Y.Z``, or an ``X.Y`` that is quoted or alone on its line (``'2.2'``)."""
    if m.group(0).count(".") >= 2:
        return True
    before, after = text[:m.start()], text[m.end():]
    line = (before.rsplit("\n", 1)[-1] + after.split("\n", 1)[0]).strip()
    return line == "" or (before.endswith(("'", '"')) and after.startswith(("'", '"')))


def version_drift(saved: str, clean: str, source: str = "", aliases=None, float_tol: float = 1e-6):
    """The printed version strings that differ between two (masked) texts of one output:
    ``{"versions": [(library, saved, clean)], "only": bool}``, ``only`` when nothing else
    differs (or what else differs is format drift); None when no version string differs."""
    aliases = aliases or {}
    source_libs = _source_libraries(source, aliases)
    names = {"python"} | set(aliases.values()) | set(source_libs)
    names |= {d for d, mod in _DIST_TO_MODULE.items() if mod in names}
    # standard library modules have no version of their own ("time 1.25" is a duration)
    stdlib = set(getattr(sys, "stdlib_module_names", ())) - {"python"}
    names = {n for n in names if len(n) > 1 and n not in stdlib}
    source_libs = [lib for lib in source_libs if lib not in stdlib]
    ta = _version_tokens(saved, names, source_libs)
    tb = _version_tokens(clean, names, source_libs)
    if not ta or len(ta) != len(tb):
        return None
    versions = []
    for (_, _, la, va), (_, _, lb, vb) in zip(ta, tb):
        if la != lb:
            return None
        if va != vb and (la, va, vb) not in versions:
            versions.append((la, va, vb))
    if not versions:
        return None

    def blank(text, toks):
        out, last = [], 0
        for s, e, lib, _ in toks:
            out.append(text[last:s] + f"<{lib} version>")
            last = e
        return "".join(out) + text[last:]

    ba, bb = blank(saved, ta), blank(clean, tb)
    only = diff_text(ba, bb, float_tol) is None or format_drift(ba, bb, float_tol) is not None
    return {"versions": versions, "only": only}


def version_evidence(findings: list) -> dict:
    """library -> (saved version, clean version, cell) from the notebook's printed versions."""
    out: dict = {}
    for f in findings:
        for lib, a, b in f.get("versions") or []:
            out.setdefault(lib, (a, b, f.get("cell")))
    return out
