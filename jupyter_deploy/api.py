"""The one seam: every front end (magics, widget, REST server, CLI) calls these and nothing else.

Everything here takes plain Python values and returns JSON-serialisable dicts, raises only
:class:`jupyter_deploy.errors.DeployError` subclasses for conditions the user can act on, and
reports long work through one ``progress`` callable (see :mod:`jupyter_deploy.progress`).

    check(notebook)                      -> the repeatability report (verdict, findings, ...)
    deploy(target, notebook, options)    -> the hand-off result (destination, proofs, ...)
    history(notebook=None)               -> past checks and deployments, newest first
    targets(), backends()                -> installed plugins with their option schemas
    check_schema()                       -> the check's options (one definition for every front end)
    objects(notebook)                    -> the deployable objects of the notebook's clean run
    load(name, version), models()        -> read the model registry
    to_sql(model, table, dialect)        -> a fitted model as SQL text
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Optional

from . import plugins, stopping, tmp
from .bundle import Proof
from .config import DeployConfig, copy_config, deploy_config
from .errors import Cancelled, DeployError, NotRepeatable, UsageError, VerificationFailed
from .history import History
from .notebook import resolve_path
from .objkinds import annotate
from .options import check_schema as _schema
from .options import validate_check_options
from .plugin import DeployContext, ObjectSource
from .plugin import magic_line as _magic_line
from .progress import as_reporter

__all__ = [
    "check",
    "check_schema",
    "explain_drift",
    "deploy",
    "history",
    "targets",
    "backends",
    "objects",
    "load",
    "models",
    "to_sql",
    "magic_line",
    "validate_options",
    "validate_destination",
]


def _config(config: Optional[DeployConfig], **overrides) -> DeployConfig:
    """The caller's config (a copy: a call's overrides never change it), else the files'."""
    if config is None:
        return deploy_config(**overrides)
    return copy_config(config, **overrides)


# ------------------------------------------------------------------------------------ check


def check(
    notebook: os.PathLike | str,
    *,
    runs: Optional[int] = None,
    timeout: Optional[int] = None,
    cell_timeout: Optional[int] = None,
    use_cache: Optional[bool] = None,
    parameters: Optional[dict] = None,
    record: bool = False,
    kernel: Optional[str] = None,
    write_metadata: bool = False,
    options: Optional[dict] = None,
    progress=None,
    cancel=None,
    config: Optional[DeployConfig] = None,
) -> dict:
    """Check that ``notebook`` re-runs cleanly and reproduces its saved outputs.

    Returns a JSON-serialisable report: ``verdict`` ("repeatable", "repeatable-with-warnings",
    "not-repeatable"), ``reasons``, ``findings`` (each with ``kind``, ``cell``, ``message``),
    ``environment`` (Python, platform, pinned requirements), ``notebook_hash``, ``cached``,
    ``duration``, ``executed_path`` (the clean run's executed copy) and ``produced_dir`` (the
    files the run wrote in its sandbox copy of the notebook's folder, or None).

    ``parameters`` are injected papermill-style after the cell tagged ``parameters``.
    ``kernel`` runs the notebook with that kernel instead of the one its metadata names.
    ``options`` gives the check's options by name instead (``{"cell_timeout": 5}``: the traits
    of :class:`~jupyter_deploy.config.DeployConfig` tagged ``check_option``), as the REST job and
    the front ends do; either way they apply to this call only, never to ``config``.
    The user's notebook is never modified, unless ``write_metadata`` records the verdict in its
    metadata. ``record`` appends the check to the history.
    """
    from .check import run_check

    given = {"runs": runs, "total_timeout": timeout, "cell_timeout": cell_timeout,
             "use_cache": use_cache, "kernel": kernel}
    given = {k: v for k, v in given.items() if v is not None}
    given.update(options or {})
    conf = _config(config, **validate_check_options(given))
    reporter = as_reporter(progress, cancel)
    with tmp.session(conf.home_path):  # the clean run's sandbox lives there
        report = run_check(notebook, conf, reporter, parameters=parameters or {})
    if write_metadata:
        from .check.record import write_verdict_metadata

        write_verdict_metadata(report)
    if record:
        History(conf.history_path).append(
            {
                "action": "check",
                "target": None,
                "notebook": report["notebook"],
                "notebook_hash": report["notebook_hash"],
                "verdict": report["verdict"],
                "destination": None,
                "status": "ok" if report["verdict"] != "not-repeatable" else "failed",
                "summary": f"check: {report['verdict']} ({len(report['findings'])} findings)",
            }
        )
    return report


def explain_drift(
    notebook: os.PathLike | str,
    *,
    report: Optional[dict] = None,
    as_of: Optional[str] = None,
    kernel: Optional[str] = None,
    progress=None,
    cancel=None,
    config: Optional[DeployConfig] = None,
) -> dict:
    """Whether the differences every clean run agrees on are library drift, and whose.

    Re-runs the notebook in a temporary environment of the packages it imports, resolved with
    uv as of its last change (``as_of``, else its last git commit, else the execution times
    saved in it, else its modification time); if the saved outputs come back, upgrades each
    package alone to today's version to name the one that changes each cell. ``report`` is the
    notebook's check report (checked first when None). Returns ``verdict``
    ("library-drift", "partly-library-drift", "not-library-drift", "nothing-to-explain"),
    ``summary`` (one line), ``explained`` (cell -> packages), ``unexplained``, ``packages``
    (name -> saved/current version), ``trials``, ``as_of``, ``runs``, ``seconds``. Raises
    :class:`~jupyter_deploy.errors.EnvironmentBuildError` when no environment can be built.
    """
    from .check.explain import explain_drift as explain

    conf = _config(config)
    if kernel is not None:
        conf.kernel = kernel
    if report is None:
        report = check(notebook, kernel=kernel, progress=progress, cancel=cancel, config=conf)
    reporter = as_reporter(progress, cancel)
    with tmp.session(conf.home_path):
        return explain(resolve_path(notebook), report, conf, reporter, as_of=as_of)


# ----------------------------------------------------------------------------------- deploy


def _choose_backend(kind: str, to: Optional[str], default: str):
    """The backend for a bundle kind: the one that claims ``to``'s scheme, else the default."""
    if to:
        candidates = [cls for cls in plugins.loadable(plugins.BACKENDS) if cls.claims(to, kind)]
        if candidates:
            return candidates[0]
        if "://" in to and not to.lower().startswith("file://"):
            scheme = to.split("://", 1)[0]
            raise UsageError(
                f"No backend takes {kind} bundles to {scheme}:// URLs.",
                hint="Use a folder path, or a scheme that an installed backend supports "
                "(jupyter deploy targets lists them).",
            )
    if not default:
        raise UsageError(f"The {kind} target has no default backend.", hint="Give --to.")
    return plugins.backend_class(default)


def _make_plugin(cls, options: dict, conf: Optional[DeployConfig] = None):
    """A target or backend with the user's ``options`` on top of ``conf``'s config (files,
    ``%config``), and ``conf`` itself as its ``deploy_config`` (where state lives)."""
    from traitlets import TraitError

    conf = conf if conf is not None else deploy_config()
    unknown = sorted(set(options) - set(cls.option_names()))
    if unknown:
        known = ", ".join(cls.option_names())
        raise UsageError(
            f"Unknown option(s) for {cls.plugin_name}: {', '.join(unknown)}.",
            hint=f"Its options are: {known}.",
        )
    try:
        return cls(config=conf.config, deploy_config=conf, **options)
    except TraitError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(
            f"Invalid option for {cls.plugin_name}: {first}",
            hint=f"Give each option the type its description says (jupyter deploy "
            f"{cls.plugin_name} --help lists them).",
        ) from exc


def _split_options(target_cls, backend_cls, options: dict) -> tuple[dict, dict]:
    """The user's flat options -> (the target's, the chosen backend's). An option of another
    backend (``--alias`` when ``--to`` picks a backend without aliases) is refused by name."""
    traits = target_cls.all_option_traits()
    unknown = sorted(set(options) - set(traits))
    if unknown:
        raise UsageError(
            f"Unknown option(s) for {target_cls.plugin_name}: {', '.join(unknown)}.",
            hint=f"Its options are: {', '.join(traits)}.",
        )
    own, theirs = {}, {}
    for name, value in options.items():
        owner, trait = traits[name]
        if owner is None:
            own[name] = value
        elif name in backend_cls.option_names():
            theirs[name] = value
        else:
            flag = "--" + trait.metadata.get("flag", name.replace("_", "-"))
            raise UsageError(
                f"{flag} is an option of the {owner.plugin_name} backend, but this "
                f"{target_cls.plugin_name} goes to the {backend_cls.plugin_name} backend.",
                hint=f"Leave {flag} out, or give a --to that the {owner.plugin_name} backend "
                "takes.",
            )
    return own, theirs


def _one_destination(target_cls, options: dict, to: Optional[str]) -> tuple[dict, Optional[str]]:
    """``--to`` is the one destination: an option named like one of the target's other
    spellings of it (``registry``, ``out``: older clients and saved forms send them) becomes
    ``to``; two different destinations are refused."""
    options = dict(options)
    for name in getattr(target_cls, "destination_flags", ()):
        value = options.pop(name, None)
        if value in (None, ""):
            continue
        if to and str(value) != str(to):
            raise UsageError(
                f"Two destinations: --{name} {value} and --to {to}.",
                hint=f"Give one: --{name} and --to are the same for {target_cls.plugin_name}.")
        to = str(value)
    return options, to


def validate_options(target: str, options: dict, to: Optional[str] = None) -> None:
    """Refuse unknown options and values of the wrong type before any work starts (the
    target's own and those of the backend ``to`` picks)."""
    target_cls = plugins.target_class(target)
    options, to = _one_destination(target_cls, dict(options or {}), to)
    backend_cls = _choose_backend(target_cls.kind(), to, target_cls.default_backend)
    own, theirs = _split_options(target_cls, backend_cls, dict(options or {}))
    _make_plugin(target_cls, own)
    _make_plugin(backend_cls, theirs)


def validate_destination(target: str, to: Optional[str], config: Optional[DeployConfig] = None):
    """The backend class that will take ``target``'s bundle to ``to``; an unsupported scheme
    (or a destination the backend refuses up front, such as a folder that is not a knowledge
    repo) raises at once, before any check runs."""
    target_cls = plugins.target_class(target)
    backend_cls = _choose_backend(target_cls.kind(), to, target_cls.default_backend)
    backend_cls.preflight(to or backend_cls.default_destination(_config(config)))
    return backend_cls


def deploy(
    target: str,
    notebook: os.PathLike | str,
    *,
    options: Optional[dict] = None,
    to: Optional[str] = None,
    live: Optional[dict] = None,
    force: bool = False,
    progress=None,
    cancel=None,
    config: Optional[DeployConfig] = None,
) -> dict:
    """Deploy ``notebook`` to ``target`` ("report", "model", "sql", "container", or a plugin's).

    The notebook is checked first (answered from the cache when unchanged); a notebook that is
    not repeatable is refused unless ``force``. The target builds a bundle from what the clean
    run produced; the backend (chosen by the shape of ``to``, else the target's default) hands
    it off and proves the result. ``live`` is the live session's namespace, when there is one:
    targets compare the clean run's objects with it.
    """

    conf = _config(config)
    reporter = as_reporter(progress, cancel)
    target_cls = plugins.target_class(target)
    kind = target_cls.kind()
    options, to = _one_destination(target_cls, dict(options or {}), to)
    # The destination decides the backend, and the options go to the target or to it; an
    # unsupported --to or a bad option fails now, before the check starts a kernel.
    backend_cls = _choose_backend(kind, to, target_cls.default_backend)
    own, theirs = _split_options(target_cls, backend_cls, options)
    tgt = _make_plugin(target_cls, own, conf)
    backend = _make_plugin(backend_cls, theirs, conf)
    nb_path = resolve_path(notebook)
    backend_cls.preflight(to or backend_cls.default_destination(conf))
    backend.validate(to)
    # What was handed off so far: a cancel (or a stopped worker) reports exactly this.
    state: dict = {"stage": "check", "handoff": None, "report": None,
                   "line": lambda: _line(target, target_cls, tgt, backend, to)}
    try:
        with tmp.session(conf.home_path):
            return _deploy(target, target_cls, tgt, nb_path, to, live, force, reporter, conf, state,
                           kind, backend)
    except (Cancelled, KeyboardInterrupt) as exc:  # an interrupted kernel or Ctrl-C too
        raise _cancelled(exc, target, target_cls, tgt, nb_path, to, conf, state) from None


def _line(target, target_cls, tgt, backend, to) -> str:
    """The %deploy line of this deploy: the target's options and the backend's, and --to."""

    values = {**tgt.option_values(), **backend.option_values()}
    return _magic_line(target, values, target_cls.options_schema(), to)


def _deploy(target, target_cls, tgt, nb_path, to, live, force, reporter, conf, state,
            kind, backend) -> dict:
    from .check.objects import ObjectStore

    report = check(nb_path, parameters=tgt.check_parameters(), progress=reporter, config=conf)
    state["report"] = report
    if report["verdict"] == "not-repeatable" and not force:
        reasons = "; ".join(report.get("reasons", [])[:3]) or "see jupyter deploy check"
        raise NotRepeatable(
            f"{nb_path.name} is not repeatable, so it was not deployed: {reasons}",
            hint="Fix the notebook (jupyter deploy check shows every finding), or pass --force "
            "to deploy anyway (recorded as forced).",
            findings=report.get("findings", [])[:20],
        )

    store = ObjectStore.open(report.get("objects_dir"))
    state["stage"] = "build"
    workdir = Path(tmp.mkdtemp(prefix="jupyter-deploy-"))
    try:
        ctx = DeployContext(
            notebook=nb_path,
            notebook_hash=report["notebook_hash"],
            check=report,
            objects=ObjectSource(store, live),
            reporter=reporter,
            workdir=workdir,
            config=conf,
            force=force,
            live_session=live is not None,
            destination=to,
            backend_options=backend.option_values(),
        )
        tgt.validate(ctx)
        reporter("build", 0, 1, f"building the {target} bundle")
        bundle = tgt.build(ctx)
        bundle.write_manifest()
        reporter("build", 1, 1, f"{target} bundle built")

        if bundle.kind != kind:  # a target may build another kind than it usually does
            backend = _make_plugin(_choose_backend(bundle.kind, to, target_cls.default_backend),
                                   {}, conf)
        backend_cls = type(backend)
        reporter("publish", 0, 1, f"handing off with {backend_cls.plugin_name}")
        state["stage"] = "publish"
        with stopping.shielded():  # a stop waits for the hand-off: then we know what it wrote
            handoff = backend.publish(bundle, to, _Unstoppable(reporter))
            state["handoff"] = handoff
        state["stage"] = "verify"
        reporter("publish", 1, 1, handoff.summary or handoff.destination)
        reporter("verify", 0, 1, "verifying the hand-off")
        proofs = list(bundle.proofs) + list(handoff.proofs)
        proofs += backend.verify(bundle, handoff, reporter)
        reporter("verify", 1, 1, "verified" if all(p.ok for p in proofs) else "verification failed")
        # Only now may the hand-off become current (a registry's alias and latest move here).
        try:
            backend.settle(bundle, handoff, proofs, reporter)
        except DeployError as exc:
            proofs.append(Proof("promote", False, f"could not make it current: {exc.one_line()}"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    proof_json = [p.to_json() for p in proofs]
    ok = all(p["ok"] for p in proof_json)
    line = state["line"]()
    rec = History(conf.history_path).append(
        {
            "action": "deploy",
            "target": target,
            "notebook": str(nb_path),
            "notebook_hash": report["notebook_hash"],
            "verdict": report["verdict"],
            "forced": bool(force and report["verdict"] == "not-repeatable"),
            "destination": handoff.destination,
            "url": handoff.url,
            "status": "ok" if ok else "failed",
            "summary": handoff.summary,
            "proofs": proof_json,
            "details": handoff.details,
            "magic": line,
        }
    )
    result = {
        "target": target,
        "notebook": str(nb_path),
        "notebook_hash": report["notebook_hash"],
        "verdict": report["verdict"],
        "forced": rec["forced"],
        "destination": handoff.destination,
        "url": handoff.url,
        "summary": handoff.summary,
        "status": rec["status"],
        "proofs": proof_json,
        "details": handoff.details,
        "record_id": rec["id"],
        "magic": line,
    }
    if not ok:
        failed = [p for p in proof_json if not p["ok"]]
        # one line per failed proof: an engine's whole log stays in the result's proofs
        text = "; ".join(f"{p['name']}: {_first_line(p.get('detail'))}" for p in failed)
        raise VerificationFailed(
            f"{target} was handed off to {handoff.destination} but its proof failed: " + text,
            hint=failure_hint(failed, handoff.details),
            result=result,
        )
    return result


def _first_line(detail, limit: int = 1000) -> str:
    text = str(detail or "").strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " ..."


# Failed proofs that say nothing about the notebook: what to fix instead.
_NOT_THE_NOTEBOOK = (
    (("image: build", "image: runs", "image: stops on SIGTERM"),
     "The container engine could not build or run the image (the first line above says why; the "
     "whole log is in the proof's details). The build context and its API, proven in a fresh "
     "virtual environment, are fine: fix the engine or the base image (--base-image), then deploy "
     "again. The notebook is not the cause."),
    (("image: push",),
     "The image was built and proven but the push failed: check the registry's address and your "
     "login (podman login / docker login). The notebook is not the cause."),
    (("api-local: requirements install",),
     "The pinned requirements did not install in a fresh virtual environment: check that the "
     "package index is reachable and serves those versions. The notebook is not the cause."),
)


def failure_hint(failed: list[dict], details: dict) -> str:
    """What to do about failed proofs: the notebook is blamed only when it can be at fault."""
    text = " ".join(str(p.get("detail")) for p in failed)
    names = {p.get("name") for p in failed}
    outside = {n for group, _hint in _NOT_THE_NOTEBOOK for n in group}
    blame = None
    if names and names <= outside:  # every failure has a cause outside the notebook: the first
        blame = next(hint for group, hint in _NOT_THE_NOTEBOOK if names & set(group))
    if blame is not None:
        hint = blame
    elif "signature" in text or "signing key" in text or "not signed" in text:
        hint = ("The signing key in use ($JUPYTER_DEPLOY_SIGNING_KEY or "
                "$JUPYTER_DEPLOY_SIGNING_KEY_FILE) does not match the artefact's signature: "
                "publish and verify with the same key (the notebook is not the cause).")
    elif any(p.get("name") == "promote" for p in failed):
        hint = ("The proofs passed but the destination could not be updated; check that it is "
                "reachable and writable, then deploy again.")
    else:
        hint = "The history records it as failed; see the details and fix the notebook."
    if details.get("status") == "failed":
        hint += " The version is kept, marked failed; no alias moved."
    return hint


class _Unstoppable:
    """A reporter for the hand-off: progress goes through, a cancel waits for its end."""

    def __init__(self, reporter):
        self._reporter = reporter

    def __call__(self, stage, done=0, total=0, message=""):
        event = self._reporter.cancel_event
        self._reporter.cancel_event = None
        try:
            self._reporter(stage, done, total, message)
        finally:
            self._reporter.cancel_event = event

    def __getattr__(self, name):
        return getattr(self._reporter, name)


def _cancelled(exc, target, target_cls, tgt, nb_path, to, conf, state) -> Cancelled:
    """The Cancelled a deploy raises: what was handed off (and recorded), and what was not."""

    handoff = state.get("handoff")
    stage = state.get("stage")
    if handoff is None:
        return Cancelled(
            f"The deploy was cancelled during {stage}; nothing was handed off.",
            hint="Start it again when you are ready.",
            stage=stage, handed_off=False, verified=False,
        )
    report = state.get("report") or {}
    details = dict(handoff.details or {})
    rec = History(conf.history_path).append(
        {
            "action": "deploy",
            "target": target,
            "notebook": str(nb_path),
            "notebook_hash": report.get("notebook_hash"),
            "verdict": report.get("verdict"),
            "destination": handoff.destination,
            "url": handoff.url,
            "status": "cancelled",
            "verified": False,
            "summary": f"cancelled during {stage}, unverified: {handoff.summary or handoff.destination}",
            "proofs": [],
            "details": details,
            "magic": state["line"](),
        }
    )
    return Cancelled(
        f"The deploy was cancelled during {stage}, after it was handed off to "
        f"{handoff.destination}: that hand-off was not verified.",
        hint="The history records it as cancelled and unverified; deploy again to prove it, "
        "or remove it from the destination.",
        stage=stage, handed_off=True, verified=False, destination=handoff.destination,
        url=handoff.url, version=details.get("version"), record_id=rec["id"],
    )


# ---------------------------------------------------------------------------------- reading


def history(
    notebook: os.PathLike | str | None = None,
    *,
    target: Optional[str] = None,
    action: Optional[str] = None,
    limit: Optional[int] = None,
    config: Optional[DeployConfig] = None,
) -> list[dict]:
    """Past checks and deployments, newest first."""
    return History(_config(config).history_path).records(
        notebook=notebook, target=target, action=action, limit=limit
    )


def targets() -> dict:
    """Installed targets with their option schemas, and any that fail to load."""
    ok, broken = plugins.describe(plugins.TARGETS)
    return {"targets": ok, "broken": broken}


def check_schema() -> dict:
    """The JSON schema of the check's options (``runs``, ``cell_timeout``, ``kernel``...)."""
    return _schema()


def backends() -> dict:
    ok, broken = plugins.describe(plugins.BACKENDS)
    return {"backends": ok, "broken": broken}


def objects(notebook: os.PathLike | str, *, config: Optional[DeployConfig] = None) -> list[dict]:
    """The deployable objects (estimators, data frames, arrays) of the notebook's last clean run.

    Answers from the check cache only; returns [] when the notebook has not been checked in its
    current state. Each carries ``fits`` (the option kinds it can be picked for) and data its
    ``sample_for`` (the models it is a sample of): see :mod:`jupyter_deploy.objkinds`.
    """
    from .check import cached_report

    report = cached_report(notebook, _config(config))
    if not report:
        return []
    return annotate(report.get("objects", []))


def magic_line(target: str, options: dict, to: Optional[str] = None) -> str:
    """The ``%deploy`` line equivalent to deploying with ``options``."""
    cls = plugins.target_class(target)
    options, to = _one_destination(cls, dict(options or {}), to)
    return _magic_line(target, options, cls.options_schema(), to)


def load(name: str, version: Any = None, *, registry: Optional[str] = None,
         config: Optional[DeployConfig] = None, **kwargs):
    """Load a model from the registry: ``version`` is None (latest), an int, or an alias.
    Without ``registry``, the configured one (``DeployConfig.registry``), as deploys use."""
    from .model import load as _load

    return _load(name, version=version, registry=registry or _config(config).default_registry,
                 **kwargs)


def models(name: Optional[str] = None, *, registry: Optional[str] = None,
           config: Optional[DeployConfig] = None) -> list[dict]:
    """Models in the registry (or the versions and aliases of one), with their metadata."""
    from .model import list_models

    return list_models(name=name, registry=registry or _config(config).default_registry)


def to_sql(model, table: str, dialect: str = "duckdb", **kwargs) -> str:
    """A fitted scikit-learn model as the SQL text of a SELECT over ``table``."""
    from .sql import to_sql as _to_sql

    return _to_sql(model, table=table, dialect=dialect, **kwargs)
