"""Options shared by the whole tool, as traitlets with ``help=``.

Every option lives on a ``Configurable``; the same definitions serve ``%config`` in IPython,
``jupyter_deploy_config.py`` / ``.json`` files in any Jupyter config directory, command-line
flags, the JSON schemas the sidebar builds its forms from, and the documentation.

Precedence, lowest first: defaults, config files, ``JUPYTER_DEPLOY_*`` environment variables
(for the few options that name places), the caller's explicit arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Float, Int, List, Unicode, default
from traitlets.config import Config, Configurable

CONFIG_FILE_NAME = "jupyter_deploy_config"


class DeployConfig(Configurable):
    """Where jupyter-deploy keeps its state, and how the clean re-run behaves.

    The traits tagged ``check_option`` are also the check's options: one definition gives
    ``jupyter deploy check`` and ``%deploy check`` their flags (``--runs``, ``--timeout``,
    ``--cell-timeout``, ``--kernel``, ``--no-cache``), the REST job's fields, the sidebar's check
    form and the equivalent ``%deploy check`` line (:mod:`jupyter_deploy.options`).
    """

    home = Unicode(
        help="""Folder for jupyter-deploy's own state: the deployment history, the check cache,
        and the default model registry and knowledge repo. Defaults to $JUPYTER_DEPLOY_HOME, else
        <jupyter data dir>/deploy.""",
    ).tag(config=True)

    @default("home")
    def _default_home(self):
        env = os.environ.get("JUPYTER_DEPLOY_HOME")
        if env:
            return env
        from jupyter_core.paths import jupyter_data_dir

        return os.path.join(jupyter_data_dir(), "deploy")

    registry = Unicode(
        "",
        help="""The model registry used when none is named (deploys without --to, jupyter deploy
        models, jupyter_deploy.load): a folder or a URL, as --to takes. Default: the registry
        folder under home.""",
    ).tag(config=True)

    cell_timeout = Int(
        600,
        help="Seconds one cell may run during a clean re-run before the check stops it.",
    ).tag(config=True, check_option=True)

    total_timeout = Int(
        3600,
        help="Seconds the whole clean re-run may take before the check stops it.",
    ).tag(config=True, check_option=True, flag="timeout")

    startup_timeout = Int(
        60, help="Seconds to wait for the clean kernel to start."
    ).tag(config=True)

    float_tolerance = Float(
        1e-6,
        help="""Relative tolerance when comparing numbers printed in text outputs (saved vs
        clean). Numbers within it count as equal.""",
    ).tag(config=True)

    image_tolerance = Float(
        0.01,
        help="""Fraction of pixels (0..1) that may differ between a saved and a clean image
        before it is reported as an output difference.""",
    ).tag(config=True)

    kernel = Unicode(
        "",
        help="""Kernel to run notebooks with during a check, instead of the one their metadata
        names (like nbconvert's --ExecutePreprocessor.kernel_name): for a notebook saved with a
        kernel that is not installed here, e.g. python3 for a notebook saved with python2.
        Empty: the notebook's own kernel.""",
    ).tag(config=True, check_option=True, advanced=True)

    runs = Int(1, help="How many clean re-runs the check makes (2 separates nondeterminism "
               "from hidden state).").tag(config=True, check_option=True)

    use_cache = Bool(
        True,
        help="Answer from the verdict cache when the notebook and its environment are unchanged "
        "(--no-cache re-runs it anyway).",
    ).tag(config=True, check_option=True, flag="cache")

    keep_objects = Bool(
        True,
        help="""After a clean run, keep the notebook's deployable objects (estimators, data
        frames, arrays) so that a later deploy uses exactly what the clean run produced.""",
    ).tag(config=True)

    max_object_bytes = Int(
        512 * 1024 * 1024,
        help="Objects larger than this (pickled) are not kept after a clean run.",
    ).tag(config=True)

    ignore_kinds = List(
        Unicode(),
        default_value=[],
        help="Finding kinds to leave out of the verdict (for example ['wall-clock']).",
    ).tag(config=True)

    allow_secrets = List(
        Unicode(),
        default_value=[],
        help="""Secret-scan findings that are not secrets, allowed explicitly (each allowance is
        recorded in the bundle's manifest): a fingerprint as the refusal shows it
        ('sha256:0123abcd...', 12+ hex digits of the value's sha256), or a place: 'KIND@cell 3',
        '*@cell 3', 'KIND@sample.json'. --force never publishes a secret.""",
    ).tag(config=True)

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser()

    @property
    def history_path(self) -> Path:
        return self.home_path / "history.jsonl"

    @property
    def cache_path(self) -> Path:
        return self.home_path / "cache"

    @property
    def registry_path(self) -> Path:
        return self.home_path / "registry"

    @property
    def default_registry(self) -> str:
        """Where models go, and are loaded and listed from, when no registry is named."""
        return self.registry or str(self.registry_path)

    @property
    def reports_path(self) -> Path:
        return self.home_path / "knowledge-repo"


_file_config: Config | None = None


def file_config(reload: bool = False) -> Config:
    """The merged config from every ``jupyter_deploy_config.{py,json}`` on Jupyter's config path."""
    global _file_config
    if _file_config is None or reload:
        from jupyter_core.paths import jupyter_config_path
        from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

        cfg = Config()
        # jupyter_config_path() lists the highest priority first; load lowest first.
        for directory in reversed(jupyter_config_path() + [os.getcwd()]):
            for loader_cls, ext in ((JSONFileConfigLoader, ".json"), (PyFileConfigLoader, ".py")):
                path = os.path.join(directory, CONFIG_FILE_NAME + ext)
                if os.path.isfile(path):
                    try:
                        cfg.merge(loader_cls(CONFIG_FILE_NAME + ext, path=directory).load_config())
                    except Exception as exc:  # noqa: BLE001 - reported as a DeployError
                        from .errors import UsageError

                        raise UsageError(
                            f"Cannot read the config file {path}: {exc}",
                            hint="Fix or remove the file.",
                        ) from exc
        _file_config = cfg
    return _file_config


_session_config: Config = Config()


def set_session_config(cfg: Config) -> None:
    """Config that a live session adds on top of the files (``%config`` in IPython)."""
    global _session_config
    _session_config = cfg


def get_config(extra: Config | None = None) -> Config:
    """Config files, then the session's config, then ``extra`` (an IPython shell's config, where
    ``%config DeployConfig.cell_timeout = 3`` lands)."""
    cfg = Config()
    cfg.merge(file_config())
    cfg.merge(_session_config)
    if extra is not None:
        cfg.merge(extra)
    return cfg


def deploy_config(extra: Config | None = None, **overrides) -> DeployConfig:
    """A ``DeployConfig`` from files, session config and ``extra``, with explicit overrides on
    top. Its ``.config`` is the merged config, which targets and backends are created with."""
    conf = DeployConfig(config=get_config(extra))
    for key, value in overrides.items():
        if value is not None:
            setattr(conf, key, value)
    return conf


def copy_config(conf: DeployConfig, **overrides) -> DeployConfig:
    """An independent copy of ``conf`` (same config, same values) with ``overrides`` on top: a
    call's ``--runs 2`` must not change the session's settings."""
    values = {name: getattr(conf, name) for name in conf.trait_names(config=True)}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DeployConfig(config=conf.config, **values)
