"""Refuse to publish anything that carries a secret: one scanner for every target.

What is scanned (a notebook): every cell's source; every output (stream stdout/stderr,
tracebacks, text/plain, text/html, markdown, LaTeX, JSON, JavaScript, SVG, output metadata);
the decoded bytes of images and attachments (markdown cell attachments, image outputs,
``data:...;base64,`` URIs embedded in HTML or markdown); the notebook's metadata (ipywidgets'
widget state). For files (a model card, ``sample.json``, a container's README and metadata):
their text, and JSON structures (a ``password`` column of a sample).

What is looked for:

- token formats: detect-secrets' plugins (AWS, GitHub, Slack, Stripe, JWT, private keys...) plus
  our own patterns for the same and a few more (Google API keys, GitHub fine-grained tokens,
  Hugging Face, GitLab, OpenAI-style keys);
- keyword assignments in any text, quoted or not: ``DB_PASSWORD=...``, ``password: ...``,
  ``"api_key": "..."`` where the name says password/secret/token/key (placeholders such as
  ``***``, ``<password>``, ``${VAR}`` do not count);
- connection strings with a password (``scheme://user:pass@host``), also inside HTML tables;
- high-entropy strings (32..100 characters of base64's alphabet, mixed case and digits, whose
  Shannon entropy is as high as 99% of random strings of that length; hex digests, identifiers,
  alphabets and line-wrapped base64 blobs excluded) -- calibrated on every ``.py`` file of an
  installed scientific Python environment (4 hits, all of them real test credentials) while
  random 40-character keys are caught 93% of the time;
- the value of every secret-named environment variable of the process (``..._TOKEN``,
  ``..._SECRET``, ``..._PASSWORD``, ``..._KEY``...; values of 8 characters or more), wherever it
  appears: the clean run's kernel inherits this environment.

A hit names the cell, the output (or file) and the kind, and a fingerprint (``sha256:`` + 16 hex
digits of the value's sha256) -- never the value. A false positive is allowed explicitly: a
``pragma: allowlist secret`` comment in a cell's source allows that cell (source and outputs), or
``c.DeployConfig.allow_secrets`` lists fingerprints (``sha256:...``) or places (``KIND@cell 3``,
``*@cell 3``, ``KIND@sample.json``). Every allowance is returned so the target can record it in
its manifest.

Exact copies of JavaScript bundles that installed packages ship (plotly.js, ~5 MB embedded in
every Plotly output) are skipped: they are the package's bytes, not the notebook's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html as _html
import json
import math
import os
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional

from ..errors import SecretFound as _SecretFoundBase

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOCK = threading.Lock()  # detect-secrets keeps its settings in a process-wide singleton
PRAGMA = "pragma: allowlist secret"

# detect-secrets' detectors left out unless asked for (``entropy=True``): ours replace them.
NOISY = ("Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector")
# detect-secrets' detectors that ours replace: its keyword detector needs quotes in plain text
# (it missed ``DB_PASSWORD=...`` on stdout) and flags placeholders (``password: ****``), its
# basic-auth one flags ``user:password@`` examples.
REPLACED = ("KeywordDetector", "BasicAuthDetector")

# Output mime types whose payload is text a person (or a script) reads.
_TEXT_MIME = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/svg+xml",
    "application/javascript",
)


class SecretFound(_SecretFoundBase):
    """A secret was found in something about to be published (message names place and kind)."""


@dataclass
class Hit:
    cell: int  # index in the notebook as the user sees it (-1: not a cell)
    where: str  # "source", "output 2 (text/html)", "sample.json", ...
    kind: str  # e.g. "AWS Access Key", "Secret Keyword", "High Entropy String"
    line: int  # 1-based line within that text
    cell_id: str = ""
    injected: bool = False
    fingerprint: str = ""  # "sha256:" + 16 hex digits of the value's sha256 (never the value)
    file: str = ""  # for files: the file's name relative to the bundle
    allowed_by: str = ""  # "pragma" or the allow_secrets entry that allowed it

    def place(self) -> str:
        if self.file:
            return self.file if self.where == self.file else f"{self.file}, {self.where}"
        if self.cell < 0:
            return f"the report's {self.where}"
        if self.injected:
            return f"the injected parameters cell, {self.where}"
        cell = f"cell {self.cell}" + (f" (id {self.cell_id})" if self.cell_id else "")
        return f"{cell}, {self.where}"

    def describe(self) -> str:
        fp = f" [{self.fingerprint}]" if self.fingerprint else ""
        return f"{self.kind} in {self.place()}, line {self.line}{fp}"

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def fingerprint(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]


# ------------------------------------------------------------------------------- names

_TOKENISH_NOT_SECRET = {  # "<x>_token" names that are not credentials (tokenizers, paging)
    "eos", "bos", "pad", "unk", "cls", "sep", "mask", "max", "min", "num", "n", "next", "page",
    "continuation", "start", "end", "special", "new", "first", "last", "total", "input",
    "output", "prompt", "completion", "image", "additional", "decoder", "sentinel",
}
_KEY_PREFIXES = {  # "<x>_key" names that are credentials (sort_key, primary_key... are not)
    "api", "access", "secret", "private", "signing", "auth", "client", "encryption", "master",
    "session", "app", "application", "service", "account", "storage", "subscription", "license",
    "webhook", "ssh", "consumer", "hmac", "jwt", "aws", "azure", "openai", "stripe", "deploy",
    "admin", "db", "database", "crypt", "cipher", "aes", "shared",
}
_SECRET_LAST = {"password", "passwd", "passphrase", "secret", "token", "apikey", "credential",
                "credentials", "pwd"}
_ENV_NOT_SECRET = {"PWD", "OLDPWD", "GPG_KEY", "PYTHON_GPG_KEY"}


def _name_parts(name: str) -> list[str]:
    return [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def secret_name(name: str, env: bool = False) -> bool:
    """Does ``name`` (a variable, key or column name) say it holds a secret?"""
    if env and name.upper() in _ENV_NOT_SECRET:
        return False
    parts = _name_parts(name)
    if not parts:
        return False
    last, before = parts[-1], parts[:-1]
    if last in _SECRET_LAST:
        if last == "token" and before and before[-1] in _TOKENISH_NOT_SECRET:
            return False
        if last == "pwd" and not before:
            return False  # the shell's current directory
        if last == "secret" and before and before[-1] in ("is", "has", "no", "use"):
            return False
        return True
    if last == "pass" and before:
        return True  # db_pass, SMTP_PASS
    if last == "key" and before:
        return env or any(p in _KEY_PREFIXES for p in before)
    return False


# ------------------------------------------------------------------------------- values

_PLACEHOLDERS = {
    "password", "passwd", "secret", "token", "changeme", "change_me", "example", "redacted",
    "hidden", "none", "null", "nil", "true", "false", "undefined", "required", "optional",
    "notset", "not_set", "placeholder", "dummy", "missing", "unknown", "default", "masked",
    "mypassword", "yourpassword", "your_password", "your-password", "secret_key", "api_key",
    "apikey", "xxxxxxxx", "environ", "getpass",
}
_PLACEHOLDER_MARKS = ("***", "xxxx", "XXXX", "...", "<", ">", "{", "}", "${", "$(", "%(", "%s",
                      "••", "\u2026")
_IDENT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+(\(\))?$")
_PRINTF = re.compile(r"%[-+ 0#]*\d*(?:\.\d+)?[sdrifxXeEgG]")
_NOT_SECRET_VALUE = re.compile(r"^(#[0-9A-Fa-f]{3,8}|__\w+__|[a-z]+\?)$")
_WORDS = re.compile(r"^[A-Za-z]+([_\- ][A-Za-z]+)*$")


def real_value(value: str, minimum: int = 6) -> bool:
    """Is ``value`` (assigned to a secret name) plausibly a real secret, not a placeholder?"""
    v = value.strip()
    if len(v) < minimum or len(set(v)) <= 2:
        return False
    low = v.lower()
    if low in _PLACEHOLDERS or low.startswith(("your", "os.environ", "env:", "http://",
                                               "https://", "file:")):
        return False
    if any(m in v for m in _PLACEHOLDER_MARKS) or _PRINTF.search(v):
        return False
    if any(w in low for w in ("fake", "dummy", "example", "placeholder", "redacted", "changeme")):
        return False
    if _NOT_SECRET_VALUE.match(v):
        return False  # a colour ('#d8dee9'), a dunder name ('__root__'), a type ('string?')
    if _IDENT_PATH.match(v.rstrip("=")) or (v.startswith(("/", "~/", "./")) and "/" in v[1:]):
        return False
    if _WORDS.match(v) and len(v) < 12:
        return False  # "bearer", "not-set", "Basic": a word, not a secret
    return True


# ------------------------------------------------------------------------------- detectors

_TOKEN_FORMATS = [
    ("AWS Access Key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("GitHub Token", re.compile(r"(?<![A-Za-z0-9_])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("GitHub Token", re.compile(r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{50,}")),
    ("Slack Token", re.compile(r"(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9-]{10,}")),
    ("Slack Webhook", re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9_/]{20,}")),
    ("Stripe Access Key", re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[0-9A-Za-z]{16,}")),
    ("Google API Key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    ("JSON Web Token", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("Private Key", re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")),
    ("Hugging Face Token", re.compile(r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9])")),
    ("GitLab Token", re.compile(r"(?<![A-Za-z0-9_])glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
    ("OpenAI Key", re.compile(r"(?<![A-Za-z0-9_-])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}")),
]

# literal parts every match of the format above contains (a cheap pre-test)
_TOKEN_PREFIXES = [
    ("AKIA", "ASIA", "ABIA", "ACCA"), ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), ("github_pat_",),
    ("xox",), ("hooks.slack.com",), ("k_live_",), ("AIza",), ("eyJ",), ("PRIVATE KEY", "PuTTY"),
    ("hf_",), ("glpat-",), ("sk-",),
]
# lines worth handing to detect-secrets' plugins (all need a long token or a key header)
_DS_WORTH = re.compile(r"[A-Za-z0-9_\-+/=.:]{16,}|PRIVATE|BEGIN")

_ASSIGN = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})["']?[ \t]*(?:=|:|=>)[ \t]*"""
    r"""(?:(?P<q>["'])(?P<qv>[^"'\n]{1,256})(?P=q)|(?P<v>[^\s"',;<>(){}\[\]|=!&][^\s"',;<>(){}\[\]|&]{0,255}))"""
)
_CONN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{1,30})://(?P<user>[^\s:/@'\"<>]{0,128})"
    r":(?P<pw>[^\s/@'\"<>]{1,256})@(?P<host>[A-Za-z0-9\[][^\s/'\"<>@]*)"
)
_CONN_PLACEHOLDER = {"password", "pass", "pwd", "passwd", "secret", "xxx", "****", "user",
                     "username", "token"}

_B64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_.\-])[A-Za-z0-9+/]{32,100}={0,2}(?![A-Za-z0-9+/=_\-])")
_B64_LINE = re.compile(r"^\s*[A-Za-z0-9+/]{60,}={0,2}\s*$")
_CERT_BLOCK = re.compile(
    r"-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|PGP PUBLIC KEY BLOCK|"
    r"CERTIFICATE REQUEST|X509 CRL)-----.*?-----END [A-Z0-9 ]+-----", re.S)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def shannon(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


@lru_cache(maxsize=None)
def entropy_threshold(n: int) -> float:
    """The entropy 99% of random base64 strings of length ``n`` reach, minus 0.1 bit.

    Computed once per length from a fixed-seed sample (deterministic), so that short and long
    tokens are judged alike (a 32-character random string has less entropy than a 64-one)."""
    import random

    rnd = random.Random(n)
    values = sorted(shannon("".join(rnd.choice(_ALPHABET) for _ in range(n))) for _ in range(400))
    return values[len(values) // 100] - 0.1


def high_entropy(token: str) -> bool:
    t = token.rstrip("=")
    if not (32 <= len(t) <= 100):
        return False
    if not (re.search(r"[A-Z]", t) and re.search(r"[a-z]", t) and re.search(r"[0-9]", t)):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", t):
        return False  # hex digests (sha256 of data, git commits) are everywhere in outputs
    if sum(1 for a, b in zip(t, t[1:]) if ord(b) - ord(a) == 1) / (len(t) - 1) >= 0.3:
        return False  # an alphabet: "ABC...xyz0123456789"
    if sum(len(m) for m in re.findall(r"[A-Z]?[a-z]{4,}", t)) / len(t) >= 0.25:
        return False  # an identifier made of words: "NFCISO15693ReadMultipleBlocks..."
    return shannon(t) >= entropy_threshold(len(t))


@lru_cache(maxsize=8)
def _env_pattern(items: tuple) -> tuple[Optional[re.Pattern], dict]:
    if not items:
        return None, {}
    names = {value: name for name, value in items}
    pattern = re.compile("|".join(re.escape(v) for v in sorted(names, key=len, reverse=True)))
    return pattern, names


def env_secrets(env: Optional[Mapping[str, str]] = None) -> tuple:
    """(name, value) of the secret-named variables of ``env`` (default: this process's)."""
    env = os.environ if env is None else env
    out = []
    for name, value in env.items():
        if not isinstance(value, str) or len(value.strip()) < 8 or not secret_name(name, env=True):
            continue
        value = value.strip()
        if value.lower() in _PLACEHOLDERS or re.fullmatch(r"\d{1,10}", value):
            continue
        if value.startswith(("/", "~")) and os.path.exists(os.path.expanduser(value)):
            continue  # a path to a key file, not the key
        out.append((name, value))
    return tuple(sorted(out))


def _line_of(text: str, pos: int, starts: list) -> int:
    import bisect

    return bisect.bisect_right(starts, pos)


class _Scanner:
    def __init__(self, env_items: tuple, entropy: bool):
        self.env_re, self.env_names = _env_pattern(env_items)
        self.entropy = entropy

    def text(self, text: str, code: bool = False) -> list[tuple[int, str, str]]:
        """(line, kind, value) for every secret in ``text``. ``code``: a code cell's source
        (only quoted values count in assignments: unquoted ones are expressions)."""
        text = _strip_bundles(text)
        if not text.strip():
            return []
        found: list[tuple[int, str, str]] = []
        starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        lines = text.split("\n")

        def add(pos, kind, value, ln=None):
            ln = ln or _line_of(text, pos, starts)
            if PRAGMA in lines[ln - 1]:
                return
            found.append((ln, kind, value))

        for (kind, rx), prefixes in zip(_TOKEN_FORMATS, _TOKEN_PREFIXES):
            if not any(p in text for p in prefixes):
                continue  # a substring test is 50x cheaper than the regex on a large table
            for m in rx.finditer(text):
                add(m.start(), kind, m.group(0))
        for m in _ASSIGN.finditer(text):
            value = m.group("qv")
            if value is not None and value.strip()[:1] in (",", ")", "+", "%", ".", ";", "]", "}"):
                continue  # "'token:', token or None, '": the text between two strings
            if value is None:
                value = m.group("v")
                if code:
                    line = lines[_line_of(text, m.start(), starts) - 1].lstrip()
                    if not line.startswith(("%env", "%set_env", "!", "export ")):
                        continue
            if secret_name(m.group("name")) and real_value(value):
                add(m.start("name"), "Secret Keyword", value)
        for m in (_CONN.finditer(text) if "://" in text else ()):
            pw = m.group("pw")
            if pw.lower() in _CONN_PLACEHOLDER or any(c in pw for c in "{}$<>*%") or len(pw) < 3:
                continue
            add(m.start(), "Connection String With Password", pw)
        if self.env_re is not None:
            for m in self.env_re.finditer(text):
                add(m.start(), f"Value of ${self.env_names[m.group(0)]}", m.group(0))
        if self.entropy:
            scan = _CERT_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
            scan_lines = scan.split("\n")
            scan_starts = [0] + [m.end() for m in re.finditer(r"\n", scan)]
            for m in _B64_TOKEN.finditer(scan):
                if not high_entropy(m.group(0)):
                    continue
                ln = _line_of(scan, m.start(), scan_starts)
                near = [scan_lines[i] for i in (ln - 2, ln) if 0 <= i < len(scan_lines)]
                if any(_B64_LINE.match(x) for x in near):
                    continue  # one line of a wrapped base64 blob (an embedded font, a file)
                add(m.start(), "High Entropy String", m.group(0), ln)
        return found


# ------------------------------------------------------------------------------- texts


@lru_cache(maxsize=1)
def _known_bundles() -> tuple[str, ...]:
    """JavaScript bundles shipped by installed packages that outputs embed verbatim."""
    import importlib.util

    out = []
    for package, rel in (("plotly", ("package_data", "plotly.min.js")),):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for base in spec.submodule_search_locations:
            path = os.path.join(base, *rel)
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as fh:
                        text = fh.read()
                except (OSError, UnicodeDecodeError):
                    continue
                if len(text) > 10000:
                    out.append(text)
    return tuple(out)


def _strip_bundles(text: str) -> str:
    if len(text) < 100000:
        return text
    for bundle in _known_bundles():
        if bundle in text:
            text = text.replace(bundle, "")
    return text


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return json.dumps(value, indent=1, default=str)


_PRINTABLE = re.compile(rb"[\x20-\x7e\t]{8,}")
_DATA_URI = re.compile(r"data:[\w/+.\-]*(?:;[\w=.\-]+)*;base64,(?P<b64>[A-Za-z0-9+/=\s]{8,})")


def decoded_text(payload: str) -> str:
    """The printable runs (8+ ASCII characters) of base64 ``payload``'s decoded bytes."""
    try:
        raw = base64.b64decode("".join(payload.split()), validate=False)
    except (binascii.Error, ValueError):
        return ""
    return "\n".join(m.group(0).decode("ascii") for m in _PRINTABLE.finditer(raw))


def _with_embedded(where: str, text: str, html: bool = False) -> Iterator[tuple[str, str]]:
    """(where, text) of ``text`` (embedded base64 data cut out, HTML entities decoded) and of
    each embedded ``data:`` URI's decoded bytes."""
    text = _strip_bundles(text)
    if "base64," in text:
        n = 0
        for m in _DATA_URI.finditer(text):
            n += 1
            yield f"{where}, embedded data {n}", decoded_text(m.group("b64"))
        text = _DATA_URI.sub("data:;base64,", text)
    if html and "&" in text:
        text = _html.unescape(text)
    yield where, text


def _output_texts(output) -> Iterator[tuple[str, str]]:
    kind = output.get("output_type")
    if kind == "stream":
        yield output.get("name", "stream"), _as_text(output.get("text", ""))
    elif kind == "error":
        tb = "\n".join(output.get("traceback", []) or [])
        yield "error", _ANSI.sub("", f"{output.get('ename', '')}: {output.get('evalue', '')}\n{tb}")
    elif kind in ("display_data", "execute_result", "update_display_data"):
        data = output.get("data", {}) or {}
        for mime, value in data.items():
            if mime in _TEXT_MIME or mime.endswith("json") or mime.startswith("text/"):
                html = mime in ("text/html", "image/svg+xml", "text/markdown")
                yield from _with_embedded(mime, _as_text(value), html=html)
            elif isinstance(value, (str, list)):
                yield f"{mime}, decoded", decoded_text(_as_text(value))
        meta = output.get("metadata") or {}
        if meta:
            yield "output metadata", _as_text(meta)


def notebook_texts(nb) -> Iterator[tuple[int, str, str, str, bool, bool]]:
    """(user cell index, cell id, where, text, injected, code) for everything a report could
    show or carry (``code``: the text is a code cell's source)."""
    shown = -1
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", []) or []
        injected = "injected-parameters" in tags
        if not injected:
            shown += 1
        index = shown if not injected else max(shown, 0)
        cid = str(cell.get("id") or "")
        code = cell.get("cell_type") == "code"
        for where, text in _with_embedded("source", _as_text(cell.get("source", "")),
                                          html=not code):
            yield index, cid, where, text, injected, code and where == "source"
        for name, bundle in (cell.get("attachments") or {}).items():
            for mime, value in (bundle or {}).items():
                yield index, cid, f"attachment {name} ({mime})", decoded_text(_as_text(value)), \
                    injected, False
        for n, output in enumerate(cell.get("outputs", []) or []):
            for label, text in _output_texts(output):
                yield index, cid, f"output {n + 1} ({label})", text, injected, False
    meta = dict(nb.get("metadata") or {})
    widgets = meta.pop("widgets", None)
    if widgets:
        yield -1, "", "widget state", _as_text(widgets), False, False
    for key in ("kernelspec", "language_info"):
        meta.pop(key, None)
    if meta:
        yield -1, "", "notebook metadata", _as_text(meta), False, False


# ------------------------------------------------------------------------------- scanning


def _plugin_names(entropy: bool) -> list[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    names = [cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()]
    names = [n for n in names if n not in REPLACED]
    if not entropy:
        names = [n for n in names if n not in NOISY]
    return sorted(set(names))


def scan_items(items: Iterable[tuple], entropy: bool = False,
               env: Optional[Mapping[str, str]] = None) -> list[Hit]:
    """Scan (cell, cell_id, where, text, injected[, code]) items; every hit, values left out.

    ``entropy`` adds detect-secrets' noisy detectors (its own entropy and public-IP ones) to
    ours, which always run."""
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    ours = _Scanner(env_secrets(env), entropy=True)
    hits: list[Hit] = []
    with _LOCK, transient_settings({"plugins_used": [{"name": n} for n in _plugin_names(entropy)]}):
        for item in items:
            cell, cid, where, text, injected = item[:5]
            code = bool(item[5]) if len(item) > 5 else False
            text = _strip_bundles(text)
            if not text.strip():
                continue
            seen = set()
            for line, kind, value in ours.text(text, code=code):
                if (line, kind) not in seen:
                    seen.add((line, kind))
                    hits.append(Hit(cell, where, kind, line, cid, injected, fingerprint(value)))
            for lineno, line in enumerate(text.splitlines(), 1):
                if not line.strip() or (not entropy and not _DS_WORTH.search(line)):
                    continue
                for s in scan_line(line):
                    if (lineno, s.type) in seen:
                        continue
                    seen.add((lineno, s.type))
                    hits.append(Hit(cell, where, s.type, lineno, cid, injected,
                                    fingerprint(s.secret_value or "")))
    return hits


def scan_text(text: str, where: str = "text", *, env: Optional[Mapping[str, str]] = None,
              code: bool = False) -> list[Hit]:
    """Every secret in one text (``where`` names it in the hits)."""
    return scan_items([(-1, "", where, text, False, code)], env=env)


def _pragma_cells(nb) -> set:
    out = set()
    shown = -1
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", []) or []
        injected = "injected-parameters" in tags
        if not injected:
            shown += 1
        if PRAGMA in _as_text(cell.get("source", "")):
            out.add((shown if not injected else max(shown, 0), injected))
    return out


def allow(hits: list[Hit], entries: Iterable[str] = (), pragma_cells: set = frozenset()) -> None:
    """Mark the hits that an allow-list entry or a cell's pragma allows (``allowed_by``)."""
    entries = [str(e).strip() for e in entries or () if str(e).strip()]
    for h in hits:
        if h.file == "" and h.cell >= 0 and (h.cell, h.injected) in pragma_cells:
            h.allowed_by = "pragma"
            continue
        for e in entries:
            if _entry_matches(e, h):
                h.allowed_by = e
                break


def _entry_matches(entry: str, h: Hit) -> bool:
    low = entry.lower()
    if low.startswith("sha256:"):
        want = low[7:]
        return len(want) >= 12 and h.fingerprint[7:].startswith(want[:16])
    if "@" not in entry:
        return False
    kind, place = (p.strip().lower() for p in entry.rsplit("@", 1))
    if kind not in ("*", h.kind.lower()):
        return False
    if h.file:
        return place in (h.file.lower(), Path(h.file).name.lower())
    m = re.fullmatch(r"cell\s*(\d+)", place)
    return bool(m) and h.cell >= 0 and not h.injected and int(m.group(1)) == h.cell


def scan_notebook_all(nb, *, env: Optional[Mapping[str, str]] = None, entropy: bool = False,
                      allow_list: Iterable[str] = (), extra: Optional[dict] = None) -> list[Hit]:
    """Every hit in ``nb`` (and ``extra`` texts such as the title), allowed ones marked."""
    items = list(notebook_texts(nb))
    for name, value in (extra or {}).items():
        items.append((-1, "", name, _as_text(value), False, False))
    hits = scan_items(items, entropy=entropy, env=env)
    allow(hits, allow_list, _pragma_cells(nb))
    return hits


def scan_notebook(nb, env: Optional[Mapping[str, str]] = None, entropy: bool = False,
                  allow_list: Iterable[str] = ()) -> list[Hit]:
    """Every secret-looking thing in ``nb`` that nothing allows (nothing of the secrets kept)."""
    return [h for h in scan_notebook_all(nb, env=env, entropy=entropy, allow_list=allow_list)
            if not h.allowed_by]


_HINT = ("Remove it (read it from an environment variable or a file that is not printed), "
         "re-run, and deploy again. If it is not a secret, add the comment 'pragma: allowlist "
         "secret' to that cell, or list its fingerprint (or 'KIND@cell N') in "
         "c.DeployConfig.allow_secrets; --force does not publish a secret.")


def _refuse(hits: list[Hit], what: str, hint: str = _HINT) -> None:
    first = hits[0]
    more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
    raise SecretFound(
        f"Not published: {what} would contain a secret: {first.describe()}{more}.",
        hint=hint,
        hits=[h.describe() for h in hits[:20]],
    )


def check_notebook(nb, entropy: bool = False, extra: dict | None = None, *,
                   env: Optional[Mapping[str, str]] = None,
                   allow_list: Iterable[str] = ()) -> list[dict]:
    """Raise :class:`SecretFound` when ``nb`` (or an ``extra`` text such as the title) has a
    secret that nothing allows; return the allowed hits (for the manifest)."""
    hits = scan_notebook_all(nb, env=env, entropy=entropy, allow_list=allow_list, extra=extra)
    refused = [h for h in hits if not h.allowed_by]
    if refused:
        _refuse(refused, "the report")
    return [h.to_json() for h in hits]


# ------------------------------------------------------------------------------- files


def _json_hits(data, name: str) -> list[tuple[str, str]]:
    """(where, value) for secret-named keys and columns of a JSON document."""
    out: list[tuple[str, str]] = []

    def walk(node):
        if isinstance(node, dict):
            cols, rows = node.get("columns"), node.get("data")
            if isinstance(cols, list) and isinstance(rows, list):
                for i, col in enumerate(cols):
                    if isinstance(col, str) and secret_name(col):
                        for row in rows:
                            if isinstance(row, list) and i < len(row) and isinstance(row[i], str) \
                                    and real_value(row[i]):
                                out.append((f"column {col}", row[i]))
                                break
            for k, v in node.items():
                if isinstance(v, str) and secret_name(str(k)) and real_value(v):
                    out.append((f"key {k}", v))
                elif isinstance(v, list) and secret_name(str(k)):
                    for x in v:
                        if isinstance(x, str) and real_value(x):
                            out.append((f"key {k}", x))
                            break
                walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(data)
    return out


def scan_files(paths: Iterable[os.PathLike | str], base: Optional[os.PathLike | str] = None, *,
               env: Optional[Mapping[str, str]] = None) -> list[Hit]:
    """Every secret in the files ``paths`` (text, and JSON keys/columns); each hit's ``file``
    is the path relative to ``base``."""
    hits: list[Hit] = []
    for p in paths:
        p = Path(p)
        if not p.is_file():
            continue
        name = os.path.relpath(p, base) if base else p.name
        raw = p.read_bytes()
        text = raw.decode("utf-8", "replace")
        file_hits = scan_items([(-1, "", name, text, False, False)], env=env)
        if p.suffix == ".json":
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            seen = {h.fingerprint for h in file_hits}
            for where, value in _json_hits(data, name):
                fp = fingerprint(value)
                if fp not in seen:
                    seen.add(fp)
                    file_hits.append(Hit(-1, where, "Secret Keyword", 1, fingerprint=fp))
        for h in file_hits:
            h.file = name
        hits += file_hits
    return hits


def check_files(paths: Iterable[os.PathLike | str], what: str, base=None, *,
                env: Optional[Mapping[str, str]] = None,
                allow_list: Iterable[str] = ()) -> list[dict]:
    """Raise :class:`SecretFound` when one of ``paths`` carries a secret nothing allows (the
    message names the file and kind); return the allowed hits."""
    hits = scan_files(paths, base, env=env)
    allow(hits, allow_list)
    refused = [h for h in hits if not h.allowed_by]
    if refused:
        _refuse(refused, what, hint="Remove it from the notebook's data (drop the column, or "
                "pick a sample without it), re-run, and deploy again. If it is not a secret, "
                "list its fingerprint (or 'KIND@FILE') in c.DeployConfig.allow_secrets; "
                "--force does not publish a secret.")
    return [h.to_json() for h in hits]


def forget_check_entry(ctx) -> None:
    """After a refusal, drop the check's cache entry that the deploy used (its executed
    notebook, report and kept objects carry the secret too), when it is one."""
    import shutil

    executed = getattr(ctx, "executed_notebook", None)
    cache = getattr(getattr(ctx, "config", None), "cache_path", None)
    if executed is None or cache is None:
        return
    entry = Path(executed).parent
    try:
        if entry.parent.resolve() == (Path(cache) / "check").resolve():
            shutil.rmtree(entry, ignore_errors=True)
    except OSError:
        pass


def check_bundle(folder: os.PathLike | str, names: Iterable[str], what: str, config=None,
                 env: Optional[Mapping[str, str]] = None, ctx=None) -> list[dict]:
    """The scan every target runs before hand-off on the text files it publishes (``names``,
    relative to ``folder``). A refusal removes ``folder`` and the check's cache entry of
    ``ctx`` (nothing keeps the secret) and raises :class:`SecretFound` naming the file and
    kind; else the allowed hits are returned."""
    import shutil

    folder = Path(folder)
    if config is None and ctx is not None:
        config = getattr(ctx, "config", None)
    allow_list = [str(a) for a in (getattr(config, "allow_secrets", None) or [])]
    try:
        return check_files([folder / n for n in names], what, base=folder, env=env,
                           allow_list=allow_list)
    except SecretFound:
        shutil.rmtree(folder, ignore_errors=True)
        if ctx is not None:
            forget_check_entry(ctx)
        raise


def check_embedded(page: str, what: str, allowed: Iterable[dict] = (), *,
                   env: Optional[Mapping[str, str]] = None,
                   allow_list: Iterable[str] = ()) -> None:
    """Raise :class:`SecretFound` when a ``data:`` URI embedded in ``page`` (a rendered report:
    local image files that markdown cells pull in are not in the notebook) decodes to a secret
    that neither ``allow_list`` nor an already ``allowed`` finding (same fingerprint) allows."""
    items = [(-1, "", f"embedded file {n}", decoded_text(m.group("b64")), False, False)
             for n, m in enumerate(_DATA_URI.finditer(page), 1)]
    hits = scan_items(items, env=env)
    allow(hits, allow_list)
    ok = {a.get("fingerprint") for a in allowed or ()}
    refused = [h for h in hits if not h.allowed_by and h.fingerprint not in ok]
    if refused:
        _refuse(refused, what, hint="A file the notebook's markdown shows (an image next to it) "
                "carries it: replace the file, and deploy again. If it is not a secret, list "
                "its fingerprint in c.DeployConfig.allow_secrets.")
