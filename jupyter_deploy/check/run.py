"""The clean re-run: a fresh kernel of the notebook's kernelspec, on a copy, cell by cell.

One :class:`CleanRun` executes the notebook top to bottom with nbclient in a new kernel whose
working directory is a sandbox copy of the notebook's folder (:mod:`.sandbox`: the user's folder
is never changed; what the run wrote or deleted there becomes a finding), reports progress after
every cell, honours a per-cell and a total timeout, keeps going after a cell that raises (every
failing cell is listed), and survives a kernel that dies. Every process the run started is gone
when it ends (:mod:`.reaper`). After the last cell, still in the same kernel, a short epilogue
that imports nothing from jupyter-deploy:

- lists the deployable objects of the namespace (estimators, data frames, arrays) and writes each
  with cloudpickle into ``objects_dir``, so that a later deploy uses exactly what this clean run
  produced (objects defined in the notebook, or in modules next to it, are pickled by value);
- lists the modules the run imported, from which the environment is captured.

The user's notebook is never written: the executed copy goes to the cache.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import Cancelled, KernelError
from ..notebook import cell_name
from ..progress import Reporter
from ..session import CLEAN_RUN_ENV
from .. import objkinds, tmp
from ..config import deploy_config

_MARK = "__jupyter_deploy_epilogue__"

# Runs first, in the clean kernel, silently: remember which modules were already loaded.
PROLOGUE = "import sys as _jd_sys; _jd_modules_before = set(_jd_sys.modules); del _jd_sys"

# Runs last. Self-contained: the kernel's environment may not have jupyter-deploy installed.
EPILOGUE = r'''
def _jd_epilogue(objects_dir, max_bytes, notebook_dir, kinds_source):
    import json, os, sys
    loaded = sorted({m.split(".")[0] for m in set(sys.modules) - _jd_modules_before
                     if m and not m.startswith("_")})
    try:
        import cloudpickle as _pickler
    except ImportError:  # fall back to pickle; notebook-defined classes then need the notebook
        import pickle as _pickler
    if hasattr(_pickler, "register_pickle_by_value"):
        # Modules that live next to the notebook are not installed anywhere else: ship them.
        nbdir = os.path.realpath(notebook_dir)
        for mod in list(sys.modules.values()):
            f = getattr(mod, "__file__", None)
            if f and os.path.realpath(f).startswith(nbdir + os.sep) and "site-packages" not in f:
                try:
                    _pickler.register_pickle_by_value(mod)
                except Exception:
                    pass
    ns = get_ipython().user_ns
    hidden = set(get_ipython().user_ns_hidden)
    kinds = {"__name__": "_jd_objkinds"}
    exec(kinds_source, kinds)  # jupyter_deploy/objkinds.py: the one table of object kinds
    out = []
    os.makedirs(objects_dir, exist_ok=True)
    for k, v in list(ns.items()):
        if k.startswith("_") or k in hidden or k in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        kind = kinds["kind_of"](v)
        if kind is None:
            continue
        entry = kinds["describe"](k, v, kind)
        try:
            data = _pickler.dumps(v, protocol=4)
        except Exception as exc:
            entry["kept"] = False
            entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            if len(data) > max_bytes:
                entry["kept"] = False
                entry["error"] = f"{len(data)} bytes is more than the {max_bytes} kept"
            else:
                with open(os.path.join(objects_dir, k + ".pkl"), "wb") as fh:
                    fh.write(data)
                entry["kept"] = True
                entry["bytes"] = len(data)
        out.append(entry)
    print("%MARK%" + json.dumps({"objects": out, "modules": loaded, "python": sys.executable,
                                 "version": sys.version.split()[0]}))
'''.replace("%MARK%", _MARK)


def _kinds_source() -> str:
    """The source of :mod:`jupyter_deploy.objkinds`, which the epilogue runs in the kernel."""
    return Path(objkinds.__file__).read_text(encoding="utf-8")


@dataclass
class RunResult:
    nb: object  # the executed notebook (NotebookNode)
    ok: bool
    findings: list = field(default_factory=list)  # execution-error, timeout, kernel-died...
    cells_run: int = 0  # index of the last cell reached + 1 (all cells when ok)
    stopped_at: Optional[int] = None  # the first cell that failed (or where the run stopped)
    completed: bool = True  # every cell was run (False after a timeout or a dead kernel)
    failed_cells: list = field(default_factory=list)  # cells that raised, expected or not
    objects: list = field(default_factory=list)
    modules: list = field(default_factory=list)
    kernel_python: Optional[str] = None
    kernel_version: Optional[str] = None
    duration: float = 0.0


def _kernel_spec(name: str):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    try:
        return ksm.get_kernel_spec(name)
    except NoSuchKernel:
        installed = ", ".join(sorted(ksm.find_kernel_specs())) or "none"
        raise KernelError(
            f"The kernel {name!r} is not installed.",
            hint=missing_kernel_hint(name, installed),
        ) from None


def installed_kernels() -> list:
    from jupyter_client.kernelspec import KernelSpecManager

    return sorted(KernelSpecManager().find_kernel_specs())


def missing_kernel_hint(name: str, installed: str) -> str:
    """How to run a notebook whose kernel is missing: pick an installed kernel with --kernel, or
    install the real one. Never suggests registering another interpreter under that name."""
    names = [] if installed == "none" else installed.split(", ")
    other = "python3" if "python3" in names else (names[0] if names else "")
    how = (
        f"run it with an installed kernel (--kernel {other}; installed: {installed})"
        if other else "install a kernel"
    )
    return (
        f"To check it anyway, {how}; or install the {name!r} kernel it was written for, or "
        "change the notebook's kernel in JupyterLab (Kernel > Change Kernel) and save."
    )


def _find_kernel_json(name: str) -> Optional[dict]:
    """kernel.json of a kernelspec, found on Jupyter's data path without importing
    jupyter_client (which imports IPython: too slow for a cache hit)."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("kernels"):
        spec = os.path.join(base, name, "kernel.json")
        if os.path.isfile(spec):
            try:
                with open(spec, encoding="utf-8") as fh:
                    return json.load(fh)
            except (OSError, ValueError):
                return None
    return None


def kernel_python(name: str) -> Optional[str]:
    """The interpreter a Python kernelspec runs, when it is one (for environment probing)."""
    data = _find_kernel_json(name)
    if data is None and name == "python3":
        return sys.executable  # ipykernel's built-in spec
    argv = (data or {}).get("argv") or (_kernel_spec(name).argv if data is None else [])
    if not argv:
        return None
    exe = argv[0]
    if exe in ("python", "python3", "{python}") or exe == sys.executable:
        return sys.executable
    if "python" in os.path.basename(exe):
        return exe
    return None


def error_text(output) -> tuple[str, str]:
    return output.get("ename", "Error"), output.get("evalue", "")


def _raising_library(err) -> Optional[str]:
    """The installed package whose code raised (the last library frame of the traceback)."""
    import re

    tb = "\n".join(err.get("traceback") or [])
    found = re.findall(r"(?:site|dist)-packages[/\\]+([A-Za-z_]\w*)", tb)
    return found[-1] if found else None


def _saved_error(cell) -> Optional[tuple[str, str]]:
    """(ename, evalue) of the error a cell was saved with, or None."""
    err = next((o for o in cell.get("outputs") or [] if o.get("output_type") == "error"), None)
    return None if err is None else error_text(err)


class CleanRun:
    def __init__(
        self,
        nb,
        notebook_path: Path,
        kernel_name: str,
        *,
        cell_timeout: int,
        total_timeout: int,
        startup_timeout: int,
        reporter: Reporter,
        objects_dir: Optional[Path] = None,
        max_object_bytes: int = 512 * 1024 * 1024,
        label: str = "run",
        kernel_log: Optional[Path] = None,
        sandbox: bool = True,
        produced_dir: Optional[Path] = None,
        kernel_dirs: Optional[list] = None,
    ):
        # folders to find the kernel in instead of Jupyter's (a temporary environment's kernel)
        self.kernel_dirs = kernel_dirs
        self.produced_dir = produced_dir  # where to keep the files the run wrote, if anywhere
        self.kernel_log = kernel_log
        self.sandbox = sandbox
        self.workdir = notebook_path.parent  # the kernel's working directory (the sandbox's copy)
        self.kernel_pids: set = set()
        self.run_id: Optional[str] = None  # given to the kernel, so the reaper knows its processes
        self.nb = nb
        self.path = notebook_path
        self.kernel_name = kernel_name
        self.cell_timeout = cell_timeout
        self.total_timeout = total_timeout
        self.startup_timeout = startup_timeout
        self.reporter = reporter
        self.objects_dir = objects_dir
        self.max_object_bytes = max_object_bytes
        self.label = label

    def execute(self) -> RunResult:
        """Run the notebook in a sandbox copy of its folder, then end every process it left
        and report what it left and what it wrote (see the module's docstring)."""
        from . import reaper, sandbox

        box, root = self._make_sandbox()
        try:
            with reaper.Reaper() as keeper:
                self.run_id = keeper.run_id
                try:
                    result = self._execute_retrying()
                finally:
                    left = keeper.collect(keep=self.kernel_pids)
            result.findings += reaper.findings(left, _finding)
            if box is not None:
                sandbox.unsandbox_outputs(result.nb, box)
                found = sandbox.changes(box)
                result.findings += sandbox.findings(found, _finding)
                if self.produced_dir is not None:
                    sandbox.keep(box, found, self.produced_dir)
            return result
        finally:
            if root is not None:
                import shutil

                shutil.rmtree(root, ignore_errors=True)

    def _make_sandbox(self):
        """The sandbox copy of the notebook's folder, under the tool's temp folder."""
        if not self.sandbox:
            return None, None
        from . import sandbox

        root = Path(tmp.mkdtemp(prefix="sandbox-"))
        try:
            home = deploy_config().home_path
            box = sandbox.make(self.path.parent, root, skip=(home,))
        except BaseException:
            import shutil

            shutil.rmtree(root, ignore_errors=True)
            raise
        self.workdir = box.folder
        return box, root

    def _execute_retrying(self) -> RunResult:
        """Run the notebook; a kernel that dies before answering is started once more (a port
        taken between jupyter_client choosing it and the kernel binding it kills the kernel)."""
        try:
            return self._execute()
        except KernelError as exc:
            if "before replying" not in exc.message:
                raise
            self.reporter(self.label, 0, len(self.nb.cells), "the kernel died at start-up; retrying once")
            for cell in self.nb.cells:
                if cell.get("cell_type") == "code":
                    cell.outputs = []
            return self._execute()

    def _execute(self) -> RunResult:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        manager = {}
        if self.kernel_dirs:
            manager["kernel_manager_class"] = _manager_in(self.kernel_dirs)
        else:
            _kernel_spec(self.kernel_name)  # a clear error before any kernel starts
        nb = self.nb
        cells = nb.cells
        total = len(cells)
        started = time.monotonic()
        deadline = started + self.total_timeout

        capped_by_total = False  # whether the last cell's limit came from the whole-run deadline

        def timeout_for(cell):
            nonlocal capped_by_total
            remaining = deadline - time.monotonic()
            capped_by_total = remaining < self.cell_timeout
            return max(1, math.ceil(min(self.cell_timeout, remaining)))

        client = NotebookClient(
            nb,
            kernel_name=self.kernel_name,
            timeout=self.cell_timeout,
            timeout_func=timeout_for,
            startup_timeout=self.startup_timeout,
            allow_errors=False,
            record_timing=False,
            resources={"metadata": {"path": str(self.workdir)}},
            **manager,
        )
        result = RunResult(nb=nb, ok=True)
        env = dict(os.environ)
        env[CLEAN_RUN_ENV] = "1"
        if self.run_id:
            from .reaper import RUN_ENV

            env[RUN_ENV] = self.run_id
        env.pop("JPY_SESSION_NAME", None)

        tmp.original_tmpdir(env)  # the notebook's temp files go where they go outside a check
        self.reporter(self.label, 0, total, f"starting a clean {self.kernel_name} kernel")
        import subprocess

        log = open(self.kernel_log, "ab") if self.kernel_log else subprocess.DEVNULL
        try:
            with client.setup_kernel(env=env, stderr=log, stdout=log):
                self.kernel_pids.add(getattr(getattr(client.km, "provisioner", None), "pid", None))
                self._kernel_info(client)
                self._transient(client, PROLOGUE)
                for index, cell in enumerate(cells):
                    if self.reporter.cancelled:
                        raise Cancelled("The check was cancelled.", hint="Nothing was changed.")
                    saved_error = _saved_error(cell)  # read before nbclient clears the outputs
                    try:
                        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    except CellTimeoutError:
                        total_hit = capped_by_total
                        limit = self.total_timeout if total_hit else self.cell_timeout
                        what = "the whole run" if total_hit else "one cell"
                        result.findings.append(
                            _finding(
                                "timeout", index,
                                f"{cell_name(index)} did not finish within {limit} s (the limit for {what})",
                                "Make the cell faster, or raise the limit "
                                + ("(--timeout, or DeployConfig.total_timeout)." if total_hit
                                   else "(--cell-timeout, or DeployConfig.cell_timeout: "
                                   "%config DeployConfig.cell_timeout = 1200)."),
                            )
                        )
                        return self._stop(result, index, started)
                    except CellExecutionError:
                        self._cell_error(result, cell, index, saved_error)
                        result.cells_run = index + 1
                        continue
                    except DeadKernelError:
                        result.findings.append(
                            _finding(
                                "kernel-died", index,
                                f"the kernel died while running {cell_name(index)}",
                                "The cell crashed the kernel process (os._exit, a segfault, or "
                                "running out of memory).",
                            )
                        )
                        return self._stop(result, index, started)
                    result.cells_run = index + 1
                    self.reporter(self.label, index + 1, total, f"cell {index + 1} of {total}")
                if self.objects_dir is not None and result.ok:
                    self._epilogue(client, result)
        except Cancelled:
            raise
        except KernelError:
            raise
        except RuntimeError as exc:
            # nbclient raises RuntimeError for a kernel that fails to start
            if result.cells_run == 0 and not result.findings:
                said = ""
                if self.kernel_log and os.path.exists(self.kernel_log):
                    tail = [
                        ln for ln in open(self.kernel_log, errors="replace").read().splitlines()
                        if ln.strip() and "without encryption" not in ln
                    ][-1:]
                    said = f" (it said: {tail[0].strip()[:200]})" if tail else ""
                raise KernelError(
                    f"The {self.kernel_name!r} kernel failed to start: {exc}{said}",
                    hint="Check that the kernel's environment is installed and works: "
                    f"jupyter console --kernel {self.kernel_name}",
                ) from exc
            raise
        finally:
            if self.kernel_log:
                log.close()
        result.duration = time.monotonic() - started
        return result

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _cell_error(result: RunResult, cell, index: int, saved_error) -> None:
        """Record a cell that raised, and keep going (as nbval does), so every failing cell is
        listed. An error that reproduces the saved one exactly (same exception name and value,
        as in a teaching notebook's deliberate error) is a warning; any other ends ``ok``."""
        err = next((o for o in cell.outputs if o.get("output_type") == "error"), {})
        ename, evalue = error_text(err)
        result.failed_cells.append(index)
        if saved_error is not None and saved_error == (ename, evalue):
            result.findings.append(
                _finding(
                    "expected-error", index,
                    f"{cell_name(index)} raised {ename}: {evalue}".rstrip(": ")
                    + " (as in the saved notebook)",
                    "The saved notebook shows the same error, so it is reproduced, not new; if it "
                    "is not meant to be there, fix the cell.",
                    severity="warning", ename=ename, evalue=evalue,
                )
            )
            return
        result.ok = False
        if result.stopped_at is None:
            result.stopped_at = index  # the first failing cell: the headline
        result.findings.append(
            _finding(
                "execution-error", index,
                f"{cell_name(index)} raised {ename}: {evalue}".strip().rstrip(":"),
                "The notebook does not run top to bottom in a fresh kernel; fix "
                "this cell (the findings before it often say why).",
                ename=ename, evalue=evalue, raised_in=_raising_library(err),
            )
        )

    def _stop(self, result: RunResult, index: int, started: float) -> RunResult:
        result.ok = False
        result.completed = False
        if result.stopped_at is None:
            result.stopped_at = index
        result.cells_run = index
        result.duration = time.monotonic() - started
        self.reporter(self.label, index + 1, len(result.nb.cells), f"stopped at {cell_name(index)}")
        return result

    @staticmethod
    def _kernel_info(client) -> None:
        from nbclient.util import run_sync

        msg_id = client.kc.kernel_info()
        reply = run_sync(client.async_wait_for_reply)(msg_id)
        if reply and "language_info" in reply.get("content", {}):
            client.nb.metadata["language_info"] = reply["content"]["language_info"]

    @staticmethod
    def _transient(client, source: str):
        """Run code in the kernel that is not part of the notebook, and return its outputs."""
        import nbformat

        cell = nbformat.v4.new_code_cell(source)
        client.nb.cells.append(cell)
        try:
            client.execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
        finally:
            client.nb.cells.pop()
        return cell.outputs

    def _epilogue(self, client, result: RunResult) -> None:
        self.reporter(self.label, len(self.nb.cells), len(self.nb.cells), "keeping the clean run's objects")
        code = (
            EPILOGUE
            + f"\n_jd_epilogue({str(self.objects_dir)!r}, {int(self.max_object_bytes)}, "
            f"{str(self.workdir)!r}, {_kinds_source()!r})\ndel _jd_epilogue, _jd_modules_before\n"
        )
        try:
            outputs = self._transient(client, code)
        except Exception as exc:  # noqa: BLE001 - the run itself succeeded; say what was lost
            result.findings.append(
                _finding(
                    "objects-not-kept", None,
                    f"the clean run's objects could not be kept: {exc}".splitlines()[0],
                    "Deploys of this notebook will use the live session's objects.",
                    severity="warning",
                )
            )
            return
        for out in outputs:
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith(_MARK):
                    data = json.loads(line[len(_MARK):])
                    result.objects = data["objects"]
                    result.modules = data["modules"]
                    result.kernel_python = data["python"]
                    result.kernel_version = data["version"]


def _manager_in(kernel_dirs):
    """A kernel manager class that finds kernels in ``kernel_dirs`` only."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class _Manager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return KernelSpecManager(kernel_dirs=[str(d) for d in kernel_dirs],
                                     ensure_native_kernel=False)

    return _Manager


def _finding(kind, cell, message, hint, severity="error", **extra) -> dict:
    out = {"kind": kind, "cell": cell, "line": None, "severity": severity, "message": message, "hint": hint}
    out.update(extra)
    return out
