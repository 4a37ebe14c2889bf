"""The ipywidgets panel that ``%deploy`` (with no arguments) shows inside a notebook.

For users of the classic Notebook, VS Code and Voila, who have no JupyterLab sidebar: the same
flow by clicking. The notebook path, "Check repeatability" with a progress bar and the verdict
with its findings, a target picker with a form generated from the target's option schema (model
and data choices offered from the live namespace), "Deploy" with progress and the result with
its proofs, the history of this notebook, and the equivalent ``%deploy`` line with a button that
puts it in a new cell.

Like every front end, it calls only :mod:`jupyter_deploy.api` (plus
:func:`jupyter_deploy.session.notebook_path` to find the notebook). Long work runs in a background
thread, so the kernel stays responsive and the widgets update as it goes; ``cancel`` stops it
between steps. This module imports ipywidgets and is imported only when the panel is asked for.
"""

from __future__ import annotations

import html
import shlex
import threading
import traceback
from pathlib import Path
from typing import Callable, Optional

import ipywidgets as W

from . import api, objkinds
from .errors import DeployError, UsageError

RED = "#cf222e"
GREEN = "#1a7f37"
AMBER = "#9a6700"
GREY = "#57606a"

REPORT_HINT = (
    "This is a bug in jupyter-deploy or in a plugin: please report it with the details below."
)

# Names that IPython itself puts in the user namespace.
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


# ----------------------------------------------------------------------- the live namespace


def live_objects(namespace: dict) -> list[dict]:
    """The deployable objects in ``namespace``, described and annotated as the server describes
    the clean run's (one table of kinds: :mod:`jupyter_deploy.objkinds`), sorted by name.

    Only libraries the session already imported are looked at: nothing is imported for this.
    """
    found = []
    for name, obj in list(namespace.items()):
        if name.startswith("_") or name in _IPYTHON_NAMES:
            continue
        kind = objkinds.kind_of(obj)
        if kind is not None:
            found.append(objkinds.describe(name, obj, kind))
    return objkinds.annotate(sorted(found, key=lambda d: d["name"]))


def choices_for(objects: list[dict], wanted, model: Optional[str] = None) -> list[str]:
    """The names of ``objects`` an option asking for ``wanted`` offers; a sample option (whose
    schema names the model option in ``x-features-of``) offers only the samples of ``model``
    when that model is among ``objects``."""
    words = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    names = [d["name"] for d in objects if set(words) & set(d.get("fits", ()))]
    if model and "sample" in words and any(d["name"] == model for d in objects):
        names = [n for n in names if any(d["name"] == n and model in d.get("sample_for", ())
                                         for d in objects)]
    return names


# --------------------------------------------------------------------------- the progress bar

# Where each stage of a check sits on one bar from 0 to 1 (start, end).
CHECK_SPANS = {"cache": (0.0, 1.0), "lint": (0.0, 0.05), "run": (0.05, 0.9), "compare": (0.9, 1.0)}
# A deploy checks first (answered from the cache when the notebook is unchanged), then builds,
# hands off and verifies.
DEPLOY_SPANS = {"check": (0.0, 0.6), "build": (0.6, 0.75), "publish": (0.75, 0.9), "verify": (0.9, 1.0)}


def overall_fraction(job: str, stage: str, fraction: Optional[float]) -> Optional[float]:
    """The position on the job's single progress bar of ``stage`` at ``fraction`` (0..1).

    None when the event does not say how far it is (or its stage is unknown).
    """
    if fraction is None:
        return None
    span = None
    name, _, of = stage.partition(" ")
    if name in CHECK_SPANS:
        lo, hi = CHECK_SPANS[name]
        if name == "run" and "/" in of:  # "run 2/3": the second third of the run span
            try:
                i, n = (int(x) for x in of.split("/", 1))
                width = (hi - lo) / n
                lo, hi = lo + (i - 1) * width, lo + i * width
            except (ValueError, ZeroDivisionError):
                pass
        span = (lo, hi)
        if job == "deploy":
            c_lo, c_hi = DEPLOY_SPANS["check"]
            span = (c_lo + lo * (c_hi - c_lo), c_lo + hi * (c_hi - c_lo))
    elif job == "deploy" and name in DEPLOY_SPANS:
        span = DEPLOY_SPANS[name]
    if span is None:
        return None
    lo, hi = span
    return lo + (hi - lo) * max(0.0, min(1.0, fraction))


# ------------------------------------------------------------------------------- the form


def _label(name: str, required: bool) -> str:
    return name + (" *" if required else "")


class Field:
    """One option of a target: its schema, its widget, and how to read a value out of it."""

    def __init__(self, name: str, spec: dict, required: bool, objects: list[dict]):
        self.name = name
        self.spec = spec
        self.required = required
        self.kind = spec.get("type", "string")
        self.object_kind = spec.get("x-object-kind")
        self.features_of = spec.get("x-features-of")  # the model option a sample option follows
        self.default = spec.get("default")
        common = dict(
            description=_label(name, required),
            tooltip=spec.get("description", ""),
            style={"description_width": "10em"},
            layout=W.Layout(width="auto", max_width="46em"),
        )
        placeholder = spec.get("x-placeholder", "")
        if self.picks_objects:
            self.widget = W.Dropdown(**common)
            self.set_choices(choices_for(objects, self.object_kind))
        elif "enum" in spec:
            values = list(spec["enum"])
            value = self.default if self.default in values else (values[0] if values else None)
            self.widget = W.Dropdown(options=values, value=value, **common)
        elif self.kind == "boolean":
            self.widget = W.Checkbox(value=bool(self.default), indent=True, **common)
        elif self.kind == "integer":
            self.widget = W.IntText(value=int(self.default or 0), **common)
        elif self.kind == "number":
            self.widget = W.FloatText(value=float(self.default or 0.0), **common)
        elif self.kind == "array":
            value = ", ".join(map(str, self.default or []))
            self.widget = W.Text(value=value, placeholder=placeholder or "a, b, c", **common)
        elif self.kind == "object":
            value = "\n".join(f"{k}={v}" for k, v in (self.default or {}).items())
            self.widget = W.Textarea(value=value, placeholder=placeholder or "key=value (one a line)",
                                     rows=3, **common)
        else:
            self.widget = W.Text(value=str(self.default or ""), placeholder=placeholder, **common)
        self.help = W.HTML(layout=W.Layout(margin="0 0 6px 10.5em"))
        self.box = W.VBox([self.widget, self.help])
        self._show_help()

    def _show_help(self) -> None:
        text = html.escape(self.spec.get("description", ""))
        if self.picks_objects and not self.choices:
            what = objkinds.WORDS.get(self.object_kind, self.object_kind)
            text += (f" <span style='color:{AMBER}'>No {what} in this session yet: run the cell "
                     "that makes it, then &#8635;.</span>")
        self.help.value = f"<div style='color:{GREY};font-size:85%;line-height:1.3'>{text}</div>"

    def set_choices(self, names: list[str]) -> None:
        """Offer ``names`` (from the live namespace); keep the current choice when still there."""
        current = self.widget.value
        options = [(n, n) for n in names]
        if not self.required:
            options.insert(0, ("(none)", ""))
        self.widget.options = options
        values = [v for _, v in options]
        if current in values:
            self.widget.value = current
        else:
            self.widget.value = values[0] if values else None
        if hasattr(self, "help"):
            self._show_help()

    @property
    def picks_objects(self) -> bool:
        """Whether this option is a picker of the notebook's objects (its kind is known)."""
        return isinstance(self.object_kind, str) and self.object_kind in objkinds.ACCEPTS

    @property
    def choices(self) -> list[str]:
        """The object names offered (without the "(none)" entry)."""
        return [v for _, v in self.widget.options if v]

    def value(self):
        """The option value as the target takes it; None when the field is left empty."""
        raw = self.widget.value
        if self.picks_objects:
            return raw or None
        if self.kind == "array":
            items = [p.strip() for p in str(raw).split(",") if p.strip()]
            return items or None
        if self.kind == "object":
            out = {}
            for line in str(raw).splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if "=" not in line:
                    raise UsageError(
                        f"{self.name}: expected key=value lines, got {line!r}.",
                        hint=f"Write one key=value a line in {self.name}.",
                    )
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
            return out or None
        if self.kind in ("boolean", "integer", "number") or "enum" in self.spec:
            default = self.default
            if default is None:
                default = {"boolean": False, "integer": 0, "number": 0.0}.get(self.kind)
            return None if raw is None or raw == default else raw
        return raw if raw else None


# ------------------------------------------------------------------------------- the panel


def _style(widget, **kw):
    for k, v in kw.items():
        setattr(widget.layout, k, v)
    return widget


class DeployPanel(W.VBox):
    """The whole check-and-deploy flow for one notebook, as ipywidgets."""

    def _config(self):
        """Config files plus what ``%config`` set in the shell (as the magics use)."""
        from .session import session_config

        return session_config(self.shell)

    @classmethod
    def for_shell(cls, shell) -> "DeployPanel":
        """The panel for the notebook that ``shell`` (an IPython shell) belongs to."""
        from .session import notebook_path

        path, problem = None, None
        try:
            path = notebook_path(shell)
        except DeployError as exc:
            problem = exc
        return cls(shell=shell, notebook=path, problem=problem)

    def __init__(self, shell=None, notebook: Optional[Path] = None, problem: Optional[DeployError] = None, **kw):
        super().__init__(**kw)
        self.shell = shell
        self.namespace: dict = shell.user_ns if shell is not None else {}
        self._worker: Optional[threading.Thread] = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._job_name = ""
        self.fields: dict[str, Field] = {}
        self.objects: list[dict] = []
        # the objects are read (from the check cache: it fingerprints the kernel's environment)
        # when the form is first built, then after a check or a click on refresh
        self._objects_stale = True
        self.last_report: Optional[dict] = None
        self.last_result: Optional[dict] = None
        self.last_error: Optional[str] = None
        self.last_traceback: Optional[str] = None

        # --- header: which notebook
        self.notebook_found = notebook is not None
        self.notebook_text = W.Text(
            value="", placeholder="path/to/notebook.ipynb", description="notebook *",
            style={"description_width": "10em"}, layout=W.Layout(width="auto", max_width="46em"),
        )
        if notebook is not None:
            self.notebook_text.value = str(notebook)
            header = W.HTML(
                f"<b>Deploy</b> <code>{html.escape(str(notebook))}</code>"
            )
            self.header = W.VBox([header])
        else:
            hint = problem.one_line() if problem else "Type the notebook's path."
            self.notebook_hint = W.HTML(f"<small style='color:{AMBER}'>{html.escape(hint)}</small>")
            self.header = W.VBox([W.HTML("<b>Deploy</b>"), self.notebook_text, self.notebook_hint])

        # --- check
        self.check_button = W.Button(description="Check repeatability", icon="check",
                                     layout=W.Layout(width="auto"),
                                     button_style="primary", tooltip="Re-run the saved notebook in a clean kernel")
        self.cancel_button = W.Button(description="Cancel", icon="stop", disabled=True,
                                      tooltip="Stop the running job between steps")
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="",
                                        layout=W.Layout(width="20em"))
        self.stage = W.HTML("")
        self.check_output = W.HTML("")

        # --- target and form
        described = api.targets()
        self.targets = {t["name"]: t for t in described["targets"]}
        broken = described.get("broken", [])
        self.target_picker = W.Dropdown(
            options=list(self.targets), description="target",
            style={"description_width": "10em"},
            value=("model" if "model" in self.targets else (next(iter(self.targets), None))),
        )
        self.target_help = W.HTML("")
        self.refresh_button = W.Button(description="", icon="refresh", tooltip="Re-read the session's variables",
                                       layout=W.Layout(width="3em"))
        self.form = W.VBox([])
        self.to_text = W.Text(value="", description="to", placeholder="default destination",
                              tooltip="Where to hand it off (folder, URL, database...)",
                              style={"description_width": "10em"}, layout=W.Layout(width="auto", max_width="46em"))
        self.force_box = W.Checkbox(value=False, description="force", indent=True,
                                    tooltip="Deploy even if the notebook is not repeatable (recorded as forced)",
                                    style={"description_width": "10em"})
        self.broken_note = W.HTML(
            "" if not broken else
            f"<small style='color:{GREY}'>Not available: "
            + "; ".join(html.escape(b["error"]) for b in broken) + "</small>"
        )

        # --- the equivalent line
        # Read-only; one click selects the whole line (a disabled Text cannot be selected).
        self.magic_text = ""
        self.magic = W.HTML("", layout=W.Layout(flex="1", min_width="24em"))
        self.copy_button = W.Button(description="Copy to a new cell", icon="clipboard",
                                    layout=W.Layout(width="auto", min_width="12em"),
                                    tooltip="Put this %deploy line in a new cell below")
        self.form_error = W.HTML("")
        self.objects_note = W.HTML("")

        # --- deploy
        self.deploy_button = W.Button(description="Deploy", icon="rocket", button_style="success")
        self.result_output = W.HTML("")
        self.status = W.HTML("")

        # --- history
        self.history_output = W.HTML("")

        self.check_button.on_click(lambda _b: self.check())
        self.deploy_button.on_click(lambda _b: self.deploy())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.copy_button.on_click(lambda _b: self.copy_line())
        self.refresh_button.on_click(lambda _b: self.refresh_objects())
        self.target_picker.observe(lambda _c: self._build_form(), names="value")
        for w in (self.to_text, self.force_box, self.notebook_text):
            w.observe(lambda _c: self.update_line(), names="value")
        self.notebook_text.observe(lambda _c: self.refresh_history(), names="value")

        self._build_form()
        self.refresh_history()
        self.children = [
            self.header,
            W.HBox([self.check_button, self.cancel_button, self.progress]),
            self.stage,
            self.check_output,
            W.HTML("<hr style='margin:4px 0'>"),
            W.HBox([self.target_picker, self.refresh_button]),
            self.objects_note,
            self.target_help,
            self.form,
            self.to_text,
            self.force_box,
            self.broken_note,
            W.HBox([W.HTML("<span style='display:inline-block;width:10em;text-align:right;"
                           "padding-right:8px'>%deploy line</span>"), self.magic, self.copy_button]),
            self.form_error,
            self.deploy_button,
            self.status,
            self.result_output,
            W.HTML("<hr style='margin:4px 0'><b>History</b>"),
            self.history_output,
        ]

    # ------------------------------------------------------------------------- form state

    @property
    def target(self) -> Optional[str]:
        return self.target_picker.value

    def _build_form(self) -> None:
        info = self.targets.get(self.target) if self.target else None
        if info is None:
            self.fields = {}
            self.form.children = [W.HTML("<i>No target is installed.</i>")]
            self.target_help.value = ""
            self.update_line()
            return
        schema = info.get("schema", {})
        required = set(schema.get("required", []))
        if self._objects_stale:  # read once, not on every change of target
            self.objects = self._deployable_objects()
            self._objects_stale = False
        self.fields = {}
        for name, spec in self._ordered(schema).items():
            try:
                self.fields[name] = Field(name, spec, name in required, self.objects)
            except Exception:  # noqa: BLE001 - an odd schema from a plugin: offer plain text
                plain = {k: v for k, v in spec.items() if k in ("description", "x-placeholder")}
                self.fields[name] = Field(name, {**plain, "type": "string"}, name in required, self.objects)
        self._follow_models()
        for f in self.fields.values():
            f.widget.observe(lambda _c: self.update_line(), names="value")
        for f in self.fields.values():
            if f.features_of in self.fields:  # a sample follows its model's features
                self.fields[f.features_of].widget.observe(lambda _c: self._follow_models(), names="value")
        main = [f.box for f in self.fields.values() if not f.spec.get("x-advanced")]
        more = [f.box for f in self.fields.values() if f.spec.get("x-advanced")]
        if more:
            extra = W.Accordion(children=[W.VBox(more)], selected_index=None)
            extra.set_title(0, f"More options ({len(more)})")
            main.append(extra)
        self.form.children = main
        self.target_help.value = (
            f"<div style='color:{GREY};font-size:85%;line-height:1.3'>"
            f"{html.escape(info.get('description', ''))}</div>"
        )
        self.update_line()

    @staticmethod
    def _ordered(schema: dict) -> dict:
        """Positional first, then required, then object pickers, then the rest (in schema order)."""
        props = schema.get("properties", {})
        required = set(schema.get("required", []))

        def rank(item):
            name, spec = item
            if spec.get("x-cli-positional"):
                return 0
            if name in required:
                return 1
            return 2 if spec.get("x-object-kind") else 3

        return dict(sorted(props.items(), key=rank))

    def _deployable_objects(self) -> list[dict]:
        """What the pickers offer: the objects of the notebook's last clean run (what a deploy
        ships, as the sidebar lists them), else the live session's until the notebook is checked;
        ``objects_note`` says which."""
        clean: list[dict] = []
        try:
            clean = api.objects(self.notebook(), config=self._config())
        except Exception:  # noqa: BLE001 - no notebook yet, or unreadable: the live objects
            clean = []
        if clean:
            self.objects_note.value = (f"<span style='color:{GREY};font-size:85%'>Objects of the "
                                       "notebook's last clean run (what a deploy ships).</span>")
            return clean
        self.objects_note.value = (f"<span style='color:{GREY};font-size:85%'>Objects of this "
                                   "live session: check the notebook to list its clean run's, "
                                   "which are what a deploy ships.</span>")
        return live_objects(self.namespace)

    def refresh_objects(self) -> None:
        """Re-read the objects (the clean run's, else the live session's) into the pickers."""
        self.objects = self._deployable_objects()
        self._objects_stale = False
        for f in self.fields.values():
            if f.picks_objects and not f.features_of:
                f.set_choices(choices_for(self.objects, f.object_kind))
        self._follow_models()
        self.update_line()

    def _follow_models(self) -> None:
        """Offer in each sample option only the data that fits the model its model option
        holds (its columns are the model's features); any 2-D data when none is chosen."""
        for f in self.fields.values():
            if f.picks_objects and f.features_of:
                model = self.fields.get(f.features_of)
                chosen = model.widget.value if model is not None else None
                f.set_choices(choices_for(self.objects, f.object_kind, chosen or None))

    def options(self) -> dict:
        """The options the form sets (empty fields and unchanged defaults left out)."""
        out = {}
        for name, f in self.fields.items():
            value = f.value()
            if value is not None:
                out[name] = value
        return out

    def _missing(self, options: dict) -> list[str]:
        return [n for n, f in self.fields.items() if f.required and n not in options]

    def line(self) -> str:
        """The ``%deploy`` line equivalent to the form."""
        options = self.options()
        text = api.magic_line(self.target, options, self.to_text.value.strip() or None)
        if self.force_box.value:
            text += " --force"
        if not self.notebook_found and self.notebook_text.value.strip():
            text += " --notebook " + shlex.quote(self.notebook_text.value.strip())
        return text

    def _show_line(self, text: str) -> None:
        self.magic_text = text
        self.magic.value = (
            "" if not text else
            "<code style='user-select:all;white-space:pre-wrap;padding:2px 4px;"
            f"border:1px solid #d0d7de;border-radius:3px' title='click to select'>{html.escape(text)}</code>"
        )

    def update_line(self) -> None:
        if not self.target:
            self._show_line("")
            return
        try:
            self._show_line(self.line())
            missing = self._missing(self.options())
            self.form_error.value = (
                "" if not missing else
                f"<small style='color:{AMBER}'>Still needed: {html.escape(', '.join(missing))}</small>"
            )
        except DeployError as exc:
            missing = ["a valid form"]
            self.form_error.value = f"<span style='color:{RED}'>{html.escape(exc.one_line())}</span>"
        # The button says what it can do: disabled while the form still misses something.
        if not self.running:
            self.deploy_button.disabled = bool(missing)
            self.deploy_button.tooltip = ("Still needed: " + ", ".join(missing)) if missing else ""

    def copy_line(self) -> None:
        """Put the equivalent ``%deploy`` line into a new cell (a payload in classic and Lab)."""
        if self.shell is None or not self.magic_text:
            return
        self.shell.set_next_input(self.magic_text, replace=False)
        # In a kernel the new cell arrives with the reply to the next execution (a payload).
        self.status.value = (
            f"<small style='color:{GREY}'>The line goes into a new cell when the next cell runs "
            "(or click the line to select it and copy it).</small>"
        )

    # --------------------------------------------------------------------------- jobs

    def notebook(self, text: Optional[str] = None) -> Path:
        """The notebook's path, as found or as typed in the notebook field."""
        text = (self.notebook_text.value if text is None else text).strip()
        if not text:
            raise UsageError(
                "Cannot tell which notebook this kernel belongs to.",
                hint="Type the path of the saved .ipynb file in the notebook field.",
            )
        return Path(text).expanduser()

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def _set_busy(self, busy: bool) -> None:
        inputs = [f.widget for f in self.fields.values()]
        inputs += [self.check_button, self.deploy_button, self.target_picker, self.copy_button,
                   self.refresh_button, self.to_text, self.force_box, self.notebook_text]
        for w in inputs:
            w.disabled = busy
        self.cancel_button.disabled = not busy
        if not busy:
            self.update_line()  # the Deploy button stays disabled while the form is incomplete

    def _on_progress(self, event) -> None:
        overall = overall_fraction(self._job_name, event.stage, event.fraction if event.total else None)
        if overall is not None:  # one bar for the whole job: it only moves forward
            self.progress.value = max(self.progress.value, min(self.progress.max, overall))
        msg = f"{event.stage}: {event.message}" if event.message else event.stage
        if event.total:
            msg += f" ({event.done}/{event.total})"
        self.stage.value = f"<small>{html.escape(msg)}</small>"

    def _start(self, name: str, job: Callable[[], None]) -> bool:
        with self._lock:
            if self.running:
                self.status.value = f"<span style='color:{AMBER}'>A job is already running.</span>"
                return False
            self._cancel = threading.Event()
            self._job_name = name
            self.progress.value = 0.0
            self.progress.bar_style = "info"
            self.stage.value = f"<small>{html.escape(name)}: starting</small>"
            self.status.value = ""
            self.last_error = self.last_traceback = None
            self._set_busy(True)
            self._worker = threading.Thread(target=self._run, args=(name, job), name=f"jupyter-deploy-{name}",
                                            daemon=True)
            self._worker.start()
            return True

    def _run(self, name: str, job: Callable[[], None]) -> None:
        try:
            job()
            self.progress.value = self.progress.max
            self.progress.bar_style = "success"
            self.stage.value = f"<small>{html.escape(name)}: done</small>"
        except DeployError as exc:
            self.progress.bar_style = "danger"
            self.last_error = exc.one_line()
            self.stage.value = f"<small>{html.escape(name)}: stopped</small>"
            self.status.value = f"<span style='color:{RED}'>{html.escape(exc.one_line())}</span>"
            result = exc.details.get("result") if isinstance(exc.details, dict) else None
            if isinstance(result, dict):  # a failed proof: still show what was handed off
                from .render import result_html

                self.last_result = result
                self.result_output.value = result_html(result)
        except BaseException as exc:  # noqa: BLE001 - a bug: say so, never crash the kernel
            self.progress.bar_style = "danger"
            first = str(exc).splitlines()[0] if str(exc) else ""
            self.last_error = f"internal error: {type(exc).__name__}: {first}"
            self.last_traceback = traceback.format_exc()
            self.stage.value = f"<small>{html.escape(name)}: failed</small>"
            self.status.value = (
                f"<span style='color:{RED}'>{html.escape(self.last_error)}</span><br>"
                f"<small>{html.escape(REPORT_HINT)}</small>"
                f"<details><summary><small>details</small></summary>"
                f"<pre style='font-size:80%'>{html.escape(self.last_traceback)}</pre></details>"
            )
        finally:
            self._set_busy(False)
            try:
                self.refresh_history()
            except Exception:  # noqa: BLE001 - the history must not hide the job's outcome
                pass

    def check(self) -> bool:
        """Start "Check repeatability" in the background; False if a job is already running."""
        if self.running:
            return self._start("check", lambda: None)  # says that a job is running
        self.check_output.value = ""
        text = self.notebook_text.value

        def job():
            notebook = self.notebook(text)
            report = api.check(notebook, record=True, progress=self._on_progress,
                               cancel=self._cancel, config=self._config())
            from .render import check_html

            self.last_report = report
            self.check_output.value = check_html(report)
            self.refresh_objects()  # the clean run's objects are now the ones to offer

        return self._start("check", job)

    def deploy(self) -> bool:
        """Start "Deploy" in the background; False if a job is already running."""
        if self.running:
            return self._start("deploy", lambda: None)
        self.result_output.value = ""
        target = self.target
        # Read the form now, in the kernel's thread: edits made while the job runs do not count.
        try:
            if not target:
                raise UsageError("No target is installed.", hint="Install jupyter-deploy's targets.")
            options = self.options()
            missing = self._missing(options)
            if missing:
                raise UsageError(
                    f"{target} needs {', '.join(missing)}.",
                    hint="Fill the fields marked * in the form.",
                )
            kwargs = dict(options=options, to=self.to_text.value.strip() or None,
                          force=self.force_box.value)
            notebook = self.notebook()
        except DeployError as exc:
            problem = exc

            def job():
                raise problem

            return self._start("deploy", job)

        def job():
            from .render import result_html

            result = api.deploy(target, notebook, live=self.namespace, progress=self._on_progress,
                                cancel=self._cancel, config=self._config(), **kwargs)
            self.last_result = result
            self.result_output.value = result_html(result)

        return self._start("deploy", job)

    def cancel(self) -> None:
        """Ask the running job to stop at its next step."""
        self._cancel.set()
        self.stage.value = "<small>cancelling...</small>"

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until the running job (if any) is over (for tests and scripts)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    # ------------------------------------------------------------------------- history

    def refresh_history(self) -> None:
        text = self.notebook_text.value.strip()
        if not text:
            self.history_output.value = f"<small style='color:{GREY}'>No notebook yet.</small>"
            return
        try:
            records = api.history(Path(text).expanduser(), limit=10, config=self._config())
        except DeployError as exc:
            self.history_output.value = f"<small style='color:{RED}'>{html.escape(exc.one_line())}</small>"
            return
        self.history_output.value = history_html(records)


def history_html(records: list[dict]) -> str:
    if not records:
        return f"<small style='color:{GREY}'>Nothing checked or deployed yet.</small>"
    rows = []
    pad = "padding:2px 8px"
    for r in records:
        colour = GREEN if r.get("status") == "ok" else RED
        where = r.get("destination") or r.get("summary") or ""
        if r.get("url"):
            where = f"<a href='{html.escape(r['url'])}' target='_blank'>{html.escape(where)}</a>"
        else:
            where = html.escape(where)
        forced = " (forced)" if r.get("forced") else ""
        cells = [
            html.escape((r.get("time") or "")[:19].replace("T", " ")),
            html.escape(r.get("action") or ""),
            html.escape(r.get("target") or "-"),
            f"<span style='color:{colour}'>{html.escape(r.get('status') or '')}</span>",
            html.escape((r.get("verdict") or "") + forced),
            where,
        ]
        rows.append("<tr>" + "".join(f"<td style='{pad};text-align:left'>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th style='{pad};text-align:left'>{h}</th>"
        for h in ("time (UTC)", "action", "target", "status", "verdict", "where")
    )
    return (
        "<table class='jupyter-deploy-history' style='font-size:90%'><thead><tr>" + head
        + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
