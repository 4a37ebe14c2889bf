"""Output comparison: does the clean re-run show what the saved notebook shows?

:func:`compare_notebooks` compares, code cell by code cell, the outputs of the notebook as saved
with those of the same notebook executed in a clean kernel, and returns one ``output-diff``
finding per output that differs, each explaining itself (a one-line message, a hint, a unified
diff of the masked texts). :func:`compare_runs` takes two or more clean runs and separates
outputs that change on every run (``nondeterministic``) from outputs that every clean run agrees
on but the saved notebook does not (hidden state in the author's session, or drift in the
environment or the data).

What is compared, per code cell:

- streams: all ``stdout`` of a cell concatenated, and all ``stderr`` concatenated without the
  ``warnings`` module's messages (see :func:`jupyter_deploy.check.masks.strip_warnings`), each
  after :func:`~jupyter_deploy.check.masks.mask` (addresses, ids, dates, durations, progress bars,
  temporary paths, process ids);
- rich outputs (``execute_result``, ``display_data``) in order, by the first MIME type both sides
  have in :data:`MIME_PRIORITY`: widgets (that one is shown; model ids are volatile), Plotly figures
  (without ``uid`` and the layout template), JSON, HTML (the visible text; tables row by row),
  PNG/JPEG (decoded pixels, with Pillow), SVG (ids masked), Markdown, LaTeX, plain text;
- errors: exception name and masked value, not the traceback;
- one output more or less is a difference.

Numbers in text compare with a relative tolerance ``float_tol`` (plus a tiny absolute one);
integers compare exactly. Whitespace runs compare as one space (column alignment moves when a
value's width changes). Cells saved without outputs are not compared, and neither are cells that
contain a ``%deploy`` line (during a clean run they only say they were skipped).
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser

from .masks import mask_now, mask_pair, mask_svg_ids, strip_warnings
from ..notebook import cell_name, runs_deploy
from .textdiff import DIFF_LIMIT, _norm, _short, _who, diff_text

__all__ = ["MIME_PRIORITY", "compare_notebooks", "compare_runs", "diff_text"]

WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"

MIME_PRIORITY = [
    WIDGET,
    PLOTLY,
    "application/vnd.vegalite.v5+json",  # Altair: the chart spec with its data
    "application/vnd.vegalite.v4+json",
    "application/vnd.vega.v5+json",
    "application/json",
    "text/html",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "text/markdown",
    "text/latex",
    "text/plain",
]

TEXT_LIMIT = 4000
IMAGE_URI_LIMIT = 200_000
PIXEL_THRESHOLD = 8

HINT_GENERIC = (
    "The clean run shows something else than the saved notebook. If the saved output is stale, "
    "restart the kernel, run all cells and save; otherwise look for hidden state, unseeded "
    "randomness or input data that changed."
)
HINT_NUMBERS = (
    "Numbers differ beyond the tolerance (float_tol={tol:g}): seed the random generators "
    "(random.seed, np.random.seed, random_state=...) or check the input data; raise float_tol "
    "if the difference is only noise."
)
HINT_ORDER = (
    "Likely iteration over a set or dict of strings, whose order depends on hash randomisation: "
    "sort before printing (sorted(...)) or run the kernel with PYTHONHASHSEED=0."
)
HINT_IMAGE = (
    "The figure is not the same: check what it plots (data, random seeds, styles); if it should "
    "be the same, restart the kernel, run all cells and save."
)
HINT_COUNT = (
    "The clean run displays a different number of outputs: a display that depends on state from "
    "an earlier session, or output that was cleared or edited by hand. Restart the kernel, run "
    "all cells and save."
)
HINT_ERROR = (
    "The cell raises in one run and not in the other: read the error; it often comes from a file, "
    "a package or a variable that only the author's session had."
)
HINT_DRIFT = (
    "Every clean run agrees, so the saved output came from a changed environment (library "
    "versions) or input data, or from hidden state in the author's session (cells run out of "
    "order, a deleted or edited cell, a variable set by hand). Restart the kernel, run all cells, "
    "save, and check again; if the inputs or libraries changed, that is the new result."
)
HINT_NONDET = (
    "The cell gives a different result on every clean run: seed the random generators "
    "(random.seed, np.random.seed, random_state=...), sort unordered collections before printing, "
    "and keep wall-clock values out of the output."
)

# ----------------------------------------------------------------------------- numbers in text

_BLOCKS = ("table", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre")


class _VisibleText(HTMLParser):
    """The visible text of an HTML fragment: tables one row per line ("a | b | c"), other text
    as it flows; <style> and <script> skipped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.tables = 0

    def _flush(self):
        text = _norm("".join(self.buf))
        if text:
            self.lines.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skip += 1
        elif tag == "table":
            self._flush()
            self.tables += 1
        elif tag == "tr":
            self._flush()
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif (
            tag in ("br", "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre")
            and self.cell is None
        ):
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(_norm("".join(self.cell)))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.cell is not None:
                self.row.append(_norm("".join(self.cell)))
                self.cell = None
            self.lines.append(" | ".join(self.row))
            self.row = None
        elif tag in _BLOCKS and self.cell is None:
            self._flush()

    def handle_data(self, data):
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.buf.append(data)

    def result(self) -> str:
        if self.row:
            self.lines.append(" | ".join(self.row))
        self._flush()
        return "\n".join(self.lines)


def html_text(html: str) -> tuple[str, bool]:
    """(visible text, whether it has a table) of an HTML fragment; never raises."""
    parser = _VisibleText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; be safe on anything odd
        return _norm(re.sub(r"<[^>]*>", " ", html)), False
    return parser.result(), parser.tables > 0


# ------------------------------------------------------------------------------------- outputs


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _clean_for_report(text: str, limit: int = TEXT_LIMIT) -> str:
    text = (
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if _has_surrogate(text)
        else text
    )
    if len(text) > limit:
        return text[:limit] + f"\n... (truncated, {len(text)} characters in all)"
    return text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _primary_mime(output) -> str:
    if output.get("output_type") == "error":
        return "error"
    data = output.get("data") or {}
    for mime in MIME_PRIORITY:
        if mime in data:
            return mime
    return next(iter(sorted(data)), "empty")


def _split_outputs(cell):
    streams: dict[str, list[str]] = {}
    rich = []
    for out in cell.get("outputs") or []:
        otype = out.get("output_type")
        if otype == "stream":
            streams.setdefault(out.get("name", "stdout"), []).append(_text(out.get("text")))
        elif otype in ("execute_result", "display_data", "error"):
            rich.append(out)
    return {k: "".join(v) for k, v in streams.items()}, rich


def _strip_plotly(value):
    if isinstance(value, dict):
        return {k: _strip_plotly(v) for k, v in value.items() if k != "uid"}
    if isinstance(value, list):
        return [_strip_plotly(v) for v in value]
    return value


def _json_text(value) -> str:
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return _text(value)
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def _as_json(value) -> str:
    return mask_now(_json_text(value))


def _pm(a: str, b: str, labels) -> tuple:
    """Both texts masked for comparison; dates only where they vary (see masks.mask_pair)."""
    return mask_pair(a, b, between_runs=labels[0] != "saved")


class _Diff(dict):
    """A difference inside one cell, before it becomes a finding."""


def _text_diff(mime, saved, clean, tol, labels, unit="line", sep=None) -> _Diff | None:
    d = diff_text(saved, clean, tol, labels)
    if d is None:
        return None
    out = _Diff(
        mime=mime,
        what=f"{mime} output differs",
        detail=d.detail(unit, sep),
        kind=d.kind,
        diff=d.udiff,
        saved=_clean_for_report(saved),
        clean=_clean_for_report(clean),
    )
    if labels[0] == "saved" and d.kind not in ("order", "items-order"):
        from .drift import format_drift

        drift = format_drift(saved, clean, tol)
        if drift:
            out["drift"] = drift
    return out


def _decode_image(b64: str):
    from io import BytesIO

    from PIL import Image

    raw = base64.b64decode(b64)
    img = Image.open(BytesIO(raw))
    img.load()
    return img if img.mode in ("RGB", "RGBA") else img.convert("RGBA")


def _image_fraction(saved_b64: str, clean_b64: str):
    """(fraction of pixels that differ, size change or None); raises ImportError without Pillow."""
    from PIL import ImageChops

    a = _decode_image(saved_b64)
    b = _decode_image(clean_b64)
    if a.size != b.size:
        return (0.0 if _same_picture(a, b) else 1.0), (a.size, b.size)
    if a.mode != b.mode:
        a, b = a.convert("RGBA"), b.convert("RGBA")
    diff = ImageChops.difference(a, b)
    bands = diff.split()
    biggest = bands[0]
    for band in bands[1:]:
        biggest = ImageChops.lighter(biggest, band)
    hist = biggest.histogram()
    changed = sum(hist[PIXEL_THRESHOLD + 1 :])
    total = a.size[0] * a.size[1]
    return (changed / total if total else 0.0), None


PERCEPTUAL_WIDTH = 96  # both images are compared at this width, in grayscale
PERCEPTUAL_LEVEL = 32  # a downscaled pixel differs when its gray level moves more than this
PERCEPTUAL_FRACTION = 0.03  # the same picture when at most this fraction of them differ
ASPECT_TOLERANCE = 0.03


def _same_picture(a, b) -> bool:
    """Whether two images of different sizes show the same picture: same aspect ratio (within
    3%), and nearly the same once both are rescaled to a common small size in grayscale (a
    figure saved at another DPI, or one pixel wider because of font hinting)."""
    from PIL import Image, ImageChops

    (w1, h1), (w2, h2) = a.size, b.size
    if not (w1 and h1 and w2 and h2):
        return False
    if abs((w1 / h1) / (w2 / h2) - 1) > ASPECT_TOLERANCE:
        return False
    width = min(PERCEPTUAL_WIDTH, w1, w2)
    height = max(1, round(width * h1 / w1))

    def small(img):
        if img.mode == "RGBA":  # transparent parts read as white, as the page shows them
            back = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(back, img)
        return img.convert("L").resize((width, height), Image.Resampling.BOX)

    diff = ImageChops.difference(small(a), small(b))
    changed = sum(diff.histogram()[PERCEPTUAL_LEVEL + 1:])
    return changed / (width * height) <= PERCEPTUAL_FRACTION


def _data_uri(mime: str, b64: str) -> str:
    b64 = "".join(b64.split())
    uri = f"data:{mime};base64,{b64}"
    if len(uri) > IMAGE_URI_LIMIT:
        return uri[:IMAGE_URI_LIMIT] + "...(truncated)"
    return uri


def _compare_image(mime, saved_b64, clean_b64, image_tol) -> _Diff | None:
    if "".join(saved_b64.split()) == "".join(clean_b64.split()):
        return None
    base = {
        "mime": mime,
        "kind": "image",
        "diff": "",
        "saved": _data_uri(mime, saved_b64),
        "clean": _data_uri(mime, clean_b64),
    }
    try:
        fraction, sizes = _image_fraction(saved_b64, clean_b64)
    except ImportError:
        return _Diff(
            base,
            what=f"{mime} output differs",
            detail="the image bytes differ; install pillow to compare pixels",
        )
    except Exception as exc:  # noqa: BLE001 - undecodable image data of any kind
        return _Diff(
            base,
            what=f"{mime} output differs",
            detail=f"an image cannot be decoded ({type(exc).__name__})",
        )
    if sizes:
        (w1, h1), (w2, h2) = sizes
        if fraction == 0.0:  # the same picture at another size: drift, not a value change
            return _Diff(
                base, what=f"{mime} shows the same picture at another size",
                detail=f"same plot, different size/DPI: {w1}x{h1} -> {w2}x{h2}",
                drift={"rules": [("figure size/DPI", "image renderer")],
                       "saved": f"{w1}x{h1}", "clean": f"{w2}x{h2}"},
            )
        return _Diff(base, what=f"{mime} output differs", detail=f"size {w1}x{h1} -> {w2}x{h2}")
    if fraction <= image_tol:
        return None
    pct = fraction * 100
    shown = f"{pct:.1f}" if pct >= 0.1 else f"{pct:.2g}"
    return _Diff(base, what=f"{mime} output differs", detail=f"{shown}% of pixels differ")


def _compare_rich(saved, clean, tol, image_tol, labels) -> _Diff | None:
    ms, mc = _primary_mime(saved), _primary_mime(clean)
    if ms == "error" or mc == "error":
        if ms != mc:
            what = (
                f"{_who(labels[1])} raises an error"
                if mc == "error"
                else f"{_who(labels[0])} shows an error"
            )
            return _Diff(
                mime="error",
                what=what,
                detail=f"{_error_text(clean if mc == 'error' else saved)}",
                kind="text",
                diff="",
                saved=_clean_for_report(
                    _error_text(saved) if ms == "error" else _rich_text(saved, ms)
                ),
                clean=_clean_for_report(
                    _error_text(clean) if mc == "error" else _rich_text(clean, mc)
                ),
            )
        a, b = _pm(_error_raw(saved), _error_raw(clean), labels)
        if saved.get("ename") != clean.get("ename"):
            d = diff_text(a, b, tol, labels)
            return _Diff(
                mime="error",
                what="the error differs",
                detail=f"{saved.get('ename')} -> {clean.get('ename')}",
                kind="text",
                diff=d.udiff if d else "",
                saved=_clean_for_report(a),
                clean=_clean_for_report(b),
            )
        d = _text_diff("error", a, b, tol, labels)
        if d:
            d["what"] = "the error message differs"
        return d

    sd, cd = saved.get("data") or {}, clean.get("data") or {}
    common = [m for m in MIME_PRIORITY if m in sd and m in cd]
    if not common:
        common = sorted(set(sd) & set(cd))
    if not common:
        return _Diff(
            mime=mc,
            what="the output type differs",
            detail=f"{ms} in the saved notebook, {mc} in the clean run",
            kind="text",
            diff="",
            saved=_clean_for_report(_rich_text(saved, ms)),
            clean=_clean_for_report(_rich_text(clean, mc)),
        )
    mime = common[0]
    a, b = sd[mime], cd[mime]
    if mime == WIDGET:
        return None  # a widget was shown on both sides; its model id is volatile
    if mime == PLOTLY:
        return _text_diff(mime, *_pm(_plotly(a), _plotly(b), labels), tol, labels)
    if mime == "application/json" or mime.endswith("+json"):
        return _text_diff(mime, *_pm(_json_text(a), _json_text(b), labels), tol, labels)
    if mime in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        d = _compare_image(mime, _text(a), _text(b), image_tol)
        if d is not None and d.get("drift") and "<Figure size" in _text(cd.get("text/plain")):
            # matplotlib's figure (its repr says so): its DPI or size default changed
            d["drift"]["rules"] = [("figure size/DPI", "matplotlib")]
        if d is not None and d.get("drift") and labels[0] != "saved":
            d.pop("drift")  # between clean runs a size change is a difference
        return d
    if mime == "text/html":
        ta, table_a = html_text(_text(a))
        tb, table_b = html_text(_text(b))
        ta, tb = _pm(ta, tb, labels)
        d = _text_diff(
            mime, ta, tb, tol, labels, unit="row" if table_a and table_b else "line", sep=" | "
        )
        if d and table_a and table_b:
            d["what"] = "text/html table differs"
        return d
    if mime == "image/svg+xml":
        return _text_diff(
            mime, *_pm(mask_svg_ids(_text(a)), mask_svg_ids(_text(b)), labels), tol, labels
        )
    return _text_diff(mime, *_pm(_text(a), _text(b), labels), tol, labels)


def _plotly(value) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        value = dict(value)
        layout = value.get("layout")
        if isinstance(layout, dict):
            value["layout"] = {k: v for k, v in layout.items() if k != "template"}
        value = _strip_plotly(value)
    return _json_text(value)


def _error_raw(output) -> str:
    return f"{output.get('ename', '')}: {_text(output.get('evalue'))}"


def _error_text(output) -> str:
    return mask_now(_error_raw(output))


def _rich_text(output, mime) -> str:
    if mime == "error":
        return _error_text(output)
    data = (output.get("data") or {}).get(mime)
    if data is None:
        return ""
    if mime.startswith("image/") and mime != "image/svg+xml":
        return _data_uri(mime, _text(data))
    if isinstance(data, (dict, list)):
        return _as_json(data)
    if mime == "text/html":
        return mask_now(html_text(_text(data))[0])
    return mask_now(_text(data))


def _signature(output) -> str:
    mime = _primary_mime(output)
    if mime.startswith("image/") and mime != "image/svg+xml":
        return mime + ":" + "".join(_text((output.get("data") or {}).get(mime)).split())
    return mime + ":" + _norm(_rich_text(output, mime))


def _same_output(a, b) -> bool:
    """Identical as far as the comparison goes (execution counts and metadata do not count)."""
    if a.get("output_type") == "error" or b.get("output_type") == "error":
        return a.get("output_type") == b.get("output_type") and (
            a.get("ename"),
            a.get("evalue"),
        ) == (
            b.get("ename"),
            b.get("evalue"),
        )
    return (a.get("data") or {}) == (b.get("data") or {})


def _cell_summary(streams: dict, rich: list) -> str:
    """A cell's outputs as short masked lines, for the side-by-side view of a structural change."""
    lines = [
        f"[{name}] {_short(mask_now(text), 200)}" for name, text in sorted(streams.items()) if text
    ]
    lines += [f"[{_primary_mime(o)}] {_short(_rich_text(o, _primary_mime(o)), 200)}" for o in rich]
    return "\n".join(lines)


def _compare_cell(saved_cell, clean_cell, tol, image_tol, labels=("saved", "clean")) -> list[_Diff]:
    diffs: list[_Diff] = []
    s_streams, s_rich = _split_outputs(saved_cell)
    c_streams, c_rich = _split_outputs(clean_cell)
    s_err = next((o for o in s_rich if o.get("output_type") == "error"), None)
    c_err = next((o for o in c_rich if o.get("output_type") == "error"), None)
    if (s_err is None) != (c_err is None):
        # One side raised: that is the difference; missing or extra outputs follow from it.
        err = c_err if c_err is not None else s_err
        who = f"{_who(labels[1])} raises" if c_err is not None else f"{_who(labels[0])} shows"
        sa, sc = _cell_summary(s_streams, s_rich), _cell_summary(c_streams, c_rich)
        udiff = "\n".join(
            difflib.unified_diff(
                sa.splitlines(), sc.splitlines(), labels[0], labels[1], lineterm=""
            )
        )
        return [
            _Diff(
                mime="error",
                what=f"{who} an error",
                detail=_short(_error_text(err), 120),
                kind="error",
                diff=udiff[:DIFF_LIMIT],
                saved=_clean_for_report(sa),
                clean=_clean_for_report(sc),
            )
        ]
    for name in sorted(set(s_streams) | set(c_streams), key=lambda n: (n != "stdout", n)):
        a, b = s_streams.get(name, ""), c_streams.get(name, "")
        if a == b:
            continue
        if name == "stderr":
            a, b = strip_warnings(a), strip_warnings(b)
        d = _text_diff(f"stream:{name}", *_pm(a, b, labels), tol, labels)
        if d:
            d["what"] = f"{name} differs"
            diffs.append(d)

    if len(s_rich) == len(c_rich):
        pairs = list(zip(s_rich, c_rich))
        extra_s, extra_c = [], []
    else:
        # Align on content, so the extra output is the one reported, then pair the rest in order.
        pairs, extra_s, extra_c = [], [], []
        keys_s = [_signature(o) for o in s_rich]
        keys_c = [_signature(o) for o in c_rich]
        sm = difflib.SequenceMatcher(None, keys_s, keys_c, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            n = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
            pairs.extend(zip(s_rich[i1 : i1 + n], c_rich[j1 : j1 + n]))
            extra_s.extend(s_rich[i1 + n : i2])
            extra_c.extend(c_rich[j1 + n : j2])
    for s_out, c_out in pairs:
        if _same_output(s_out, c_out):
            continue
        d = _compare_rich(s_out, c_out, tol, image_tol, labels)
        if d:
            diffs.append(d)
    if extra_s or extra_c:
        parts = []
        if extra_c:
            mimes = ", ".join(_primary_mime(o) for o in extra_c)
            parts.append(
                f"{_who(labels[1])} shows {len(extra_c)} more output{'s' if len(extra_c) > 1 else ''} ({mimes})"
            )
        if extra_s:
            mimes = ", ".join(_primary_mime(o) for o in extra_s)
            parts.append(
                f"{len(extra_s)} output{'s' if len(extra_s) > 1 else ''} of {_who(labels[0])} ({mimes}) "
                f"{'are' if len(extra_s) > 1 else 'is'} missing from {_who(labels[1])}"
            )
        sa, sc = _cell_summary({}, s_rich), _cell_summary({}, c_rich)
        udiff = "\n".join(
            difflib.unified_diff(
                sa.splitlines(), sc.splitlines(), labels[0], labels[1], lineterm=""
            )
        )
        diffs.append(
            _Diff(
                mime=_primary_mime((extra_c or extra_s)[0]),
                what="the number of outputs differs",
                detail=f"{len(s_rich)} -> {len(c_rich)}; " + "; ".join(parts),
                kind="count",
                diff=udiff[:DIFF_LIMIT],
                saved=_clean_for_report(sa),
                clean=_clean_for_report(sc),
            )
        )
    return diffs


def _code_cells(nb):
    """(index among all cells, cell) of the code cells; a cell that papermill-style parameter
    injection added (tag ``injected-parameters``) is left out, so indices match the saved notebook."""
    out = []
    index = 0
    for cell in nb.get("cells", []):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if "injected-parameters" in tags:
            continue
        if cell.get("cell_type") == "code":
            out.append((index, cell))
        index += 1
    return out


def _cell_pairs(saved_nb, clean_nb, cells, require_outputs):
    wanted = None if cells is None else set(cells)
    clean_by_index = dict(_code_cells(clean_nb))
    for i, s_cell in _code_cells(saved_nb):
        if wanted is not None and i not in wanted:
            continue
        c_cell = clean_by_index.get(i)
        if c_cell is None:
            continue
        if require_outputs and not s_cell.get("outputs"):
            continue
        if not s_cell.get("outputs") and not c_cell.get("outputs"):
            continue
        if runs_deploy(s_cell.get("source")):
            continue
        yield i, s_cell, c_cell


def _hint(d: _Diff, tol: float) -> str:
    kind = d.get("kind")
    if kind in ("order", "items-order"):
        return HINT_ORDER
    if kind == "numbers":
        return HINT_NUMBERS.format(tol=tol)
    if kind == "image":
        return HINT_IMAGE
    if kind == "count":
        return HINT_COUNT
    if kind == "error":
        return HINT_ERROR
    return HINT_GENERIC


def _finding(kind: str, i: int, d: _Diff, message: str, hint: str, **extra) -> dict:
    f = {
        "kind": kind,
        "cell": i,
        "severity": "error",
        "line": None,
        "message": message,
        "hint": hint,
        "mime": d["mime"],
        "diff": d.get("diff", ""),
    }
    f.update(extra)
    return f


def compare_notebooks(
    saved_nb,
    clean_nb,
    *,
    float_tol: float = 1e-6,
    image_tol: float = 0.01,
    cells: Iterable[int] | None = None,
    volatile_cells: Iterable[int] = (),
) -> list[dict]:
    """``output-diff`` findings: outputs of ``clean_nb`` (the notebook executed in a clean kernel)
    that differ from those of ``saved_nb`` (the notebook as saved).

    Only code cells saved with outputs are compared; ``cells`` (indices among all cells), when
    given, limits the comparison to them (the cells executed before an execution error). Each
    finding: ``kind``, ``cell``, ``severity``, ``line`` (None), ``message`` (one line), ``hint``,
    ``mime``, ``diff`` (unified, ``--- saved``/``+++ clean``), ``saved`` and ``clean`` (masked
    texts, truncated; for images ``data:`` URIs), and ``cause`` ("unordered-iteration" when only
    the order of lines or items differs). In ``volatile_cells`` (cells drawing unseeded random
    numbers or reading the clock) a number that only rounds to the saved one is a difference, not
    display precision: the cell explains a new value better than a print setting does.
    """
    from .drift import ROUNDING, notebook_aliases, version_drift

    findings = []
    volatile = set(volatile_cells)
    aliases = notebook_aliases(saved_nb)
    for i, s_cell, c_cell in _cell_pairs(saved_nb, clean_nb, cells, require_outputs=True):
        for d in _compare_cell(s_cell, c_cell, float_tol, image_tol):
            message = f"{cell_name(i)}: {d['what']} ({d['detail']})"
            extra = {"saved": d.get("saved", ""), "clean": d.get("clean", "")}
            if d.get("kind") in ("text", "numbers") and not d["mime"].startswith("image/"):
                vd = version_drift(
                    extra["saved"], extra["clean"], _text(s_cell.get("source")), aliases, float_tol
                )
                if vd and vd["only"]:
                    findings.append(_version_finding(i, d, vd["versions"], extra))
                    continue
                if vd:
                    extra["versions"] = [list(v) for v in vd["versions"]]
            if d.get("drift") and not (i in volatile and ROUNDING in map(tuple, d["drift"]["rules"])):
                findings.append(_drift_finding(i, d, extra))
                continue
            if d.get("kind") in ("order", "items-order"):
                extra["cause"] = "unordered-iteration"
            findings.append(_finding("output-diff", i, d, message, _hint(d, float_tol), **extra))
    return findings


HINT_DRIFT_FORMAT = (
    "The values are the same; only how a library prints them changed ({library}). Nothing to "
    "fix in the notebook; re-run and save it to record the new form, or pin the older version "
    "if readers depend on the old one."
)


HINT_VERSION = (
    "The notebook printed the version of a library it was saved with; the clean run has "
    "another. Nothing to fix if the rest agrees; re-run and save to record the new version, or "
    "pin the older one if the results depend on it (--explain-drift tells which upgrade "
    "changed what)."
)


def versions_text(versions) -> str:
    return ", ".join(f"{lib} {a} -> {b}" for lib, a, b in versions)


def _version_finding(i: int, d: _Diff, versions, extra: dict) -> dict:
    f = _finding(
        "version-drift", i, d,
        f"cell {i}: printed version {versions_text(versions)} (the notebook was saved with "
        "another version; nothing else in this output differs)",
        HINT_VERSION,
        versions=[list(v) for v in versions],
        library=", ".join(dict.fromkeys(v[0] for v in versions)),
        **extra,
    )
    f["severity"] = "warning"
    return f


def _drift_finding(i: int, d: _Diff, extra: dict) -> dict:
    from .drift import library_of

    drift = d["drift"]
    f = _finding(
        "format-drift", i, d,
        f"{cell_name(i)}: {d['mime']} prints equal values differently "
        f"({', '.join(dict.fromkeys(n for n, _ in drift['rules']))}): "
        f"{drift['saved']!r} -> {drift['clean']!r}",
        HINT_DRIFT_FORMAT.format(library=library_of(drift["rules"])),
        rules=[list(r) for r in drift["rules"]],
        form_saved=drift["saved"],
        form_clean=drift["clean"],
        **extra,
    )
    f["severity"] = "warning"
    return f


def compare_runs(saved_nb, runs: list, **tol) -> list[dict]:
    """Findings from two or more clean runs of the same notebook.

    Cells whose output differs between clean runs: one ``nondeterministic`` finding each (its
    ``diff`` is between the first run and the first run that disagrees, ``--- run 1``/``+++ run
    N``; ``runs`` names them; ``run1``/``run2`` hold the masked texts). Other differences with
    the saved notebook are shared by every clean run: ``output-diff`` with ``cause``
    ``hidden-state-or-drift`` (or ``unordered-iteration`` when only the order differs). A cell
    that differs between runs is not also reported as ``output-diff``. Keyword arguments are those
    of :func:`compare_notebooks` (``float_tol``, ``image_tol``, ``cells``).
    """
    float_tol = tol.get("float_tol", 1e-6)
    image_tol = tol.get("image_tol", 0.01)
    cells = tol.get("cells")
    volatile = tol.get("volatile_cells", ())
    unknown = set(tol) - {"float_tol", "image_tol", "cells", "volatile_cells"}
    if unknown:
        raise TypeError(
            f"compare_runs() got unexpected keyword arguments: {', '.join(sorted(unknown))}"
        )
    if cells is not None:
        cells = list(cells)
    runs = list(runs)
    if not runs:
        return []
    if len(runs) == 1:
        return compare_notebooks(
            saved_nb, runs[0], float_tol=float_tol, image_tol=image_tol, cells=cells,
            volatile_cells=volatile,
        )

    nondet: dict[int, dict] = {}
    for k in range(1, len(runs)):
        labels = ("run 1", f"run {k + 1}")
        for i, a_cell, b_cell in _cell_pairs(runs[0], runs[k], cells, require_outputs=False):
            if i in nondet:
                continue
            diffs = _compare_cell(a_cell, b_cell, float_tol, image_tol, labels=labels)
            if not diffs:
                continue
            d = diffs[0]
            more = (
                f"; {len(diffs) - 1} more output{'s' if len(diffs) > 2 else ''} differ"
                if len(diffs) > 1
                else ""
            )
            message = f"{cell_name(i)} gives different output on each clean run ({d['mime']}: {d['detail']}{more})"
            hint = (
                HINT_ORDER + " " + HINT_NONDET
                if d.get("kind") in ("order", "items-order")
                else HINT_NONDET
            )
            nondet[i] = _finding(
                "nondeterministic",
                i,
                d,
                message,
                hint,
                runs=[1, k + 1],
                run1=d.get("saved", ""),
                run2=d.get("clean", ""),
            )

    findings = list(nondet.values())
    for f in compare_notebooks(
        saved_nb, runs[0], float_tol=float_tol, image_tol=image_tol, cells=cells,
        volatile_cells=volatile,
    ):
        if f["cell"] in nondet:
            continue
        if f["kind"] == "output-diff" and f.get("cause") != "unordered-iteration":
            f["cause"] = "hidden-state-or-drift"
            detail = f["message"].split(": ", 1)[1] if ": " in f["message"] else f["message"]
            f["message"] = (
                f"{cell_name(f['cell'])}: {detail}; every clean run agrees, the saved output does not"
            )
            f["hint"] = HINT_DRIFT
        findings.append(f)
    findings.sort(key=lambda f: (f["cell"], f["kind"] != "nondeterministic"))
    return findings
