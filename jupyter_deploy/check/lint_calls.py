"""The call-based rules: ``unseeded-random``, ``wall-clock``, ``absolute-path`` and the imports.

Calls are recognised through the notebook's own imports (``import numpy as np``,
``from numpy.random import rand``, ``from sklearn.ensemble import RandomForestClassifier as RF``),
without importing any of those libraries.
"""

from __future__ import annotations

import ast
import os
import re

# ------------------------------------------------------------------------------ randomness

_NP_GLOBAL = {
    "rand", "randn", "randint", "random_integers", "random_sample", "random", "ranf", "sample",
    "choice", "shuffle", "permutation", "normal", "uniform", "binomial", "poisson", "beta",
    "gamma", "exponential", "standard_normal", "multivariate_normal", "lognormal", "laplace",
    "logistic", "geometric", "multinomial", "dirichlet", "bytes", "chisquare", "f", "gumbel",
    "hypergeometric", "negative_binomial", "pareto", "power", "rayleigh", "triangular",
    "vonmises", "wald", "weibull", "zipf", "standard_cauchy", "standard_exponential",
    "standard_gamma", "standard_t",
}  # fmt: skip
_NP_SEEDLESS_CTORS = {
    "default_rng",
    "RandomState",
    "PCG64",
    "PCG64DXSM",
    "MT19937",
    "Philox",
    "SFC64",
    "SeedSequence",
}
_STD_RANDOM = {
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "gauss",
    "normalvariate", "lognormvariate", "expovariate", "vonmisesvariate", "gammavariate",
    "betavariate", "paretovariate", "weibullvariate", "triangular", "getrandbits", "randbytes",
    "binomialvariate",
}  # fmt: skip
_TORCH_RANDOM = {
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
    "rand_like",
    "randn_like",
    "randint_like",
}

# scikit-learn callables that take random_state and draw random numbers by default.
_SK_ALWAYS = {
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor", "DecisionTreeClassifier",
    "DecisionTreeRegressor", "SGDClassifier", "SGDRegressor", "SGDOneClassSVM", "Perceptron",
    "PassiveAggressiveClassifier", "PassiveAggressiveRegressor", "KMeans", "MiniBatchKMeans",
    "BisectingKMeans", "TruncatedSVD", "MLPClassifier", "MLPRegressor", "ShuffleSplit",
    "StratifiedShuffleSplit", "GroupShuffleSplit", "RepeatedKFold", "RepeatedStratifiedKFold",
    "train_test_split", "IsolationForest", "BaggingClassifier", "BaggingRegressor",
    "AdaBoostClassifier", "AdaBoostRegressor", "TSNE", "RandomizedSearchCV", "RandomTreesEmbedding",
    "GaussianMixture", "BayesianGaussianMixture", "SpectralClustering", "FastICA",
    "LatentDirichletAllocation", "MiniBatchDictionaryLearning", "SparseRandomProjection",
    "GaussianRandomProjection", "RBFSampler", "Nystroem", "permutation_importance",
    "make_classification", "make_regression", "make_blobs", "make_moons", "make_circles",
    "make_friedman1", "make_friedman2", "make_friedman3", "make_s_curve", "make_swiss_roll",
    "make_multilabel_classification", "make_gaussian_quantiles", "make_hastie_10_2",
    "make_sparse_uncorrelated", "make_low_rank_matrix", "make_biclusters",
    "make_checkerboard", "MiniBatchNMF", "SpectralEmbedding", "shuffle", "resample",
}  # fmt: skip
# name -> (keyword, values that make it random, random when the keyword is absent?)
_SK_WHEN = {
    "LogisticRegression": ("solver", {"sag", "saga"}, False),
    "LogisticRegressionCV": ("solver", {"sag", "saga"}, False),
    "PCA": ("svd_solver", {"randomized", "arpack"}, False),
    "KFold": ("shuffle", {True}, False),
    "StratifiedKFold": ("shuffle", {True}, False),
    "GroupKFold": ("shuffle", {True}, False),
    "StratifiedGroupKFold": ("shuffle", {True}, False),
    "SVC": ("probability", {True}, False),
    "NuSVC": ("probability", {True}, False),
    "NMF": ("init", {"random", "nndsvdar"}, False),
}
_SEED_WORDS = re.compile(r"(^|_)(seed|seed_everything|set_seed|manual_seed|set_random_seed)$")


def _kw(call, name):
    for k in call.keywords:
        if k.arg == name:
            return k
    return None


def _has_star_kwargs(call):
    return any(k.arg is None for k in call.keywords)


def _const(node):
    return node.value if isinstance(node, ast.Constant) else ...


class Aliases:
    """Local names -> dotted names of what they were imported as."""

    def __init__(self):
        self.names = {}

    def add_import(self, node):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.names[top] = top
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for a in node.names:
                if a.name != "*":
                    self.names[a.asname or a.name] = f"{node.module}.{a.name}"

    def qualname(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.names.get(node.id)
        if base is None:
            return None
        return ".".join([base] + parts[::-1])

    def shown(self, node):
        """The call's function as written (``np.random.rand``)."""
        try:
            return ast.unparse(node)
        except Exception:  # noqa: BLE001
            return "?"


class RandomRule:
    """``unseeded-random``: random draws with no seed set earlier in the notebook."""

    def __init__(self, aliases, report):
        self.aliases = aliases
        self.report = report
        self.seeded = set()  # "numpy", "random", "torch", "all"
        self.pandas = False

    def on_call(self, call, cell):
        q = self.aliases.qualname(call.func) or ""
        if (
            not q
            and not (isinstance(call.func, ast.Attribute) and call.func.attr == "sample")
            and not (isinstance(call.func, ast.Name) and _SEED_WORDS.search(call.func.id))
            and not (isinstance(call.func, ast.Attribute) and _SEED_WORDS.search(call.func.attr))
        ):
            return  # not something the notebook imported: nothing to say
        shown = self.aliases.shown(call.func)
        last = (
            q.rsplit(".", 1)[-1]
            if q
            else (
                call.func.attr
                if isinstance(call.func, ast.Attribute)
                else getattr(call.func, "id", "")
            )
        )
        # Seeds first.
        if q in ("numpy.random.seed",):
            self.seeded.add("numpy")
            return
        if q == "random.seed":
            self.seeded.add("random")
            return
        if q in ("torch.manual_seed", "torch.random.manual_seed", "torch.cuda.manual_seed_all"):
            self.seeded.add("torch")
            return
        if q.startswith("tensorflow.") and last in ("set_seed", "set_random_seed"):
            self.seeded.add("tensorflow")
            return
        if _SEED_WORDS.search(last or ""):
            # A helper such as seed_everything(42) or set_seed(0): trust it for every library.
            self.seeded.add("all")
            return
        if "all" in self.seeded:
            return
        line = call.lineno
        if q.startswith("numpy.random."):
            name = q[len("numpy.random.") :]
            if name in _NP_SEEDLESS_CTORS:
                if (
                    not call.args
                    and not _kw(call, "seed")
                    and not _has_star_kwargs(call)
                    or (call.args and _const(call.args[0]) is None)
                ):
                    self.report(
                        cell,
                        line,
                        f"`{shown}()` is created without a seed",
                        f"Give it a seed: {shown}(42), so every run draws the same numbers.",
                    )
                return
            if name in _NP_GLOBAL and "numpy" not in self.seeded:
                self.report(
                    cell,
                    line,
                    f"`{shown}()` draws from numpy's global generator, which no earlier cell seeds",
                    "Call np.random.seed(42) in an early cell, or use rng = np.random.default_rng(42).",
                )
            return
        if q.startswith("random.") and q.count(".") == 1:
            name = q.split(".", 1)[1]
            if name == "Random":
                if not call.args and not _kw(call, "x"):
                    self.report(
                        cell,
                        line,
                        f"`{shown}()` is created without a seed",
                        f"Give it a seed: {shown}(42).",
                    )
                return
            if name in _STD_RANDOM and "random" not in self.seeded:
                self.report(
                    cell,
                    line,
                    f"`{shown}()` uses the random module, which no earlier cell seeds",
                    "Call random.seed(42) in an early cell.",
                )
            return
        if (
            q.startswith("torch.")
            and q.count(".") == 1
            and last in _TORCH_RANDOM
            and "torch" not in self.seeded
        ):
            self.report(
                cell,
                line,
                f"`{shown}()` draws random numbers and no earlier cell calls torch.manual_seed",
                "Call torch.manual_seed(42) in an early cell.",
            )
            return
        if q.startswith("sklearn.") or q.startswith("imblearn."):
            self._sklearn(call, cell, last, shown)
            return
        if q.startswith("pandas"):
            return
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "sample"
            and self.pandas
            and not q
            and not _kw(call, "random_state")
            and not _has_star_kwargs(call)
            and "numpy" not in self.seeded
        ):
            self.report(
                cell,
                line,
                f"`{shown}()` samples rows without random_state",
                f"Pass random_state=42 to {call.func.attr}().",
            )

    def _sklearn(self, call, cell, last, shown):
        if "numpy" in self.seeded:
            return  # random_state=None draws from numpy's global generator, which is seeded
        given = _kw(call, "random_state")
        if _has_star_kwargs(call) or (given is not None and _const(given.value) is not None):
            return
        random = last in _SK_ALWAYS
        if last in _SK_WHEN:
            key, values, default = _SK_WHEN[last]
            k = _kw(call, key)
            if k is None:
                random = default
            else:
                v = _const(k.value)
                random = v is ... or v in values
        if last == "train_test_split":
            k = _kw(call, "shuffle")
            if k is not None and _const(k.value) is False:
                random = False
        if random:
            named = shown if shown.rsplit(".", 1)[-1] == last else f"{shown} ({last})"
            self.report(
                cell,
                call.lineno,
                f"`{named}(...)` has no random_state, so each run differs",
                f"Pass random_state=42 to {last}.",
            )


# ------------------------------------------------------------------------------ wall clock

_CLOCKS = {
    "datetime.datetime.now": False, "datetime.datetime.utcnow": False,
    "datetime.datetime.today": False, "datetime.date.today": False, "time.time": True,
    "time.time_ns": True, "time.ctime": False, "time.localtime": False, "time.gmtime": False,
    "time.asctime": False, "time.strftime": False, "time.perf_counter": True,
    "time.perf_counter_ns": True, "time.monotonic": True, "time.process_time": True,
    "pandas.Timestamp.now": False, "pandas.Timestamp.today": False,
    "pandas.Timestamp.utcnow": False,
}  # fmt: skip
_DISPLAYS = {"print", "display", "pprint", "pp"}
_DISPLAY_QUALNAMES = {
    "sys.stdout.write", "sys.stderr.write", "IPython.display.display", "IPython.display.Markdown",
    "IPython.display.HTML", "pprint.pprint", "rich.print",
}  # fmt: skip


class ClockRule:
    """``wall-clock``: the time of day (or a duration) that reaches an output."""

    def __init__(self, aliases, report):
        self.aliases = aliases
        self.report = report
        self.tainted = {}  # name -> (shown source, is_duration)
        self.clock_functions = {}  # notebook functions that return a clock reading

    def _source(self, call):
        q = self.aliases.qualname(call.func)
        if q in _CLOCKS:
            if q == "time.strftime" and len(call.args) > 1:
                return None
            if q in ("time.ctime", "time.localtime", "time.gmtime", "time.asctime") and call.args:
                return None
            return (self.aliases.shown(call.func) + "()", _CLOCKS[q])
        if q in ("pandas.Timestamp", "pandas.to_datetime", "numpy.datetime64") and call.args:
            if _const(call.args[0]) in ("now", "today"):
                return (f"{self.aliases.shown(call.func)}({call.args[0].value!r})", False)
        if isinstance(call.func, ast.Name) and call.func.id in self.clock_functions:
            return self.clock_functions[call.func.id]
        return None

    def taint_of(self, node):
        """(shown source, is_duration) if ``node`` carries a clock reading, else None. A
        difference of two readings is a duration."""
        if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        if isinstance(node, ast.Call):
            src = self._source(node)
            if src:
                return src
        elif isinstance(node, ast.Name):
            return self.tainted.get(node.id) if isinstance(node.ctx, ast.Load) else None
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            left, right = self.taint_of(node.left), self.taint_of(node.right)
            if left and right:
                return (left[0], True)
            return left or right
        found = None
        for child in ast.iter_child_nodes(node):
            taint = self.taint_of(child)
            if taint and (found is None or taint[1] and not found[1]):
                found = taint
        return found

    def on_statements(self, stmts, cell, is_last_cell_stmt):
        for stmt in stmts:
            self._stmt(stmt, cell, is_last_cell_stmt and stmt is stmts[-1])

    def _stmt(self, stmt, cell, last):
        if isinstance(
            stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
        ):
            for name in _targets_of(stmt):
                self.tainted.pop(name, None)
                self.clock_functions.pop(name, None)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                saved, self.tainted = self.tainted, {}
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Return) and node.value is not None:
                        taint = self.taint_of(node.value)
                        if taint:
                            self.clock_functions[stmt.name] = (
                                f"{stmt.name}() via {taint[0]}",
                                taint[1],
                            )
                            break
                self.tainted = saved
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            value = stmt.value
            if value is None:
                return
            taint = self.taint_of(value)
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                taint = taint or self.tainted.get(stmt.target.id)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for name in _names_in_target(t):
                    if taint:
                        self.tainted[name] = taint
                    else:
                        self.tainted.pop(name, None)
            self._outputs(value, cell)
            return
        if isinstance(stmt, ast.Expr):
            if not self._outputs(stmt.value, cell) and last:
                if not isinstance(stmt.value, ast.Call) or not self._is_display(stmt.value):
                    taint = self.taint_of(stmt.value)
                    if taint:
                        self._found(cell, stmt.lineno, taint, "is the cell's displayed result")
            return
        # Compound statements: look inside, in order.
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                for s in inner:
                    if isinstance(s, ast.ExceptHandler):
                        self.on_statements(s.body, cell, False)
                    elif isinstance(s, ast.stmt):
                        self._stmt(s, cell, False)
        for case in getattr(stmt, "cases", ()) or ():
            self.on_statements(case.body, cell, False)

    def _is_display(self, call):
        """print(...), display(...), pprint(...), sys.stdout.write(...), IPython's Markdown/HTML."""
        if isinstance(call.func, ast.Name) and call.func.id in _DISPLAYS:
            return True
        return self.aliases.qualname(call.func) in _DISPLAY_QUALNAMES

    def _outputs(self, expr, cell):
        """Report clock readings passed to print/display anywhere in ``expr``."""
        hit = False
        for node in ast.walk(expr):
            if isinstance(node, ast.Call) and self._is_display(node):
                for arg in list(node.args) + [
                    k.value for k in node.keywords if k.arg not in ("file", "sep", "end")
                ]:
                    taint = self.taint_of(arg)
                    if taint:
                        self._found(
                            cell,
                            node.lineno,
                            taint,
                            f"is shown by {self.aliases.shown(node.func)}()",
                        )
                        hit = True
                        break
        return hit

    def _found(self, cell, line, taint, how):
        shown, duration = taint
        if duration:
            msg = f"a duration measured with `{shown}` {how}; durations vary from run to run"
        else:
            msg = f"the time from `{shown}` {how}; it differs on every run"
        self.report(
            cell,
            line,
            msg,
            "Keep clock readings out of outputs (log them instead), or pass the time in as a parameter.",
        )


def _names_in_target(t):
    if isinstance(t, ast.Name):
        return [t.id]
    if isinstance(t, (ast.Tuple, ast.List)):
        out = []
        for e in t.elts:
            out += _names_in_target(e)
        return out
    if isinstance(t, ast.Starred):
        return _names_in_target(t.value)
    return []


def _targets_of(stmt):
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    return [(a.asname or a.name).split(".")[0] for a in stmt.names]


# ------------------------------------------------------------------------------ paths

_URLISH = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]")
_BAD_CHARS = set("\n\r\t<>|^$()[]")
_SAFE_PREFIXES = ("/dev/", "/proc/", "/sys/", "/tmp/", "/var/tmp/")
_SAFE_EXACT = {"/dev/null", "/tmp", "/", "//", "~"}
_ROUTE_METHODS = {
    "get", "post", "put", "patch", "delete", "head", "options", "route", "websocket", "api_route",
    "mount", "add_url_rule", "add_route", "add_api_route", "split", "rsplit", "join", "replace",
    "strip", "lstrip", "rstrip", "startswith", "endswith", "removeprefix", "removesuffix",
    "count", "find", "index", "rfind", "partition", "rpartition", "format", "urljoin", "request",
    "fetch", "match", "search", "sub", "compile", "fullmatch", "findall", "navigate", "goto",
}  # fmt: skip
_PATHISH_KW = {
    "sep",
    "delimiter",
    "lineterminator",
    "url",
    "endpoint",
    "route",
    "prefix",
    "suffix",
    "base_url",
    "root_path",
    "api_url",
}


_FS_ROOTS = {
    "home", "Users", "data", "mnt", "media", "opt", "srv", "var", "usr", "etc", "root", "workspace",
    "content", "kaggle", "scratch", "net", "nfs", "shared", "lustre", "gpfs", "dbfs", "Volumes",
    "storage", "work", "project", "projects", "datasets", "export", "gs", "lib", "bin", "private",
}  # fmt: skip
_FILE_FUNCS = re.compile(
    r"^(open|Path|PurePath|PosixPath|listdir|scandir|walk|glob|iglob|exists|isfile|isdir|makedirs|"
    r"mkdir|chdir|abspath|realpath|expanduser|connect|imread|imwrite|savefig|ZipFile|TarFile|"
    r"open_dataset|File|load|loadtxt|save|savetxt|savez|dump|copy|copyfile|move|rmtree|"
    r"read_\w+|to_\w+|load_\w+|save_\w+|from_\w+)$"
)


def path_problem(text: str, notebook_dir: str, fileish: bool = False):
    """Why ``text`` is a path outside the notebook's folder, or None if it is not (or not one)."""
    if not text or len(text) > 400 or any(c in _BAD_CHARS for c in text):
        return None
    if _URLISH.match(text) or text in _SAFE_EXACT or text.startswith(_SAFE_PREFIXES):
        return None
    if text.startswith("//"):
        return None  # protocol-relative URL or a comment
    spaced = " " in text
    if _WINDOWS.match(text):
        return "an absolute Windows path"
    if text.startswith("\\\\") and len(text.strip("\\").split("\\")) >= 2 and not spaced:
        return "a network share path"
    if text.startswith("~/") or text.startswith("~\\"):
        return None if spaced and not _has_ext(text) else "a path in the home folder"
    if text.startswith("/"):
        parts = [p for p in text.split("/") if p]
        if not parts:
            return None
        if spaced and not _has_ext(text):
            return None
        if not _has_ext(text) and not (fileish or parts[0] in _FS_ROOTS):
            return None  # "/api/v1/predict": a route more likely than a folder
        if any(p.startswith("{") and p.endswith("}") for p in parts[:1]):
            return None
        real = os.path.normpath(text)
        nb = os.path.normpath(notebook_dir)
        if real == nb or real.startswith(nb.rstrip(os.sep) + os.sep):
            return None
        return "an absolute path"
    if text == ".." or text.startswith("../") or text.startswith("..\\"):
        if spaced:
            return None
        return "a path that leaves the notebook's folder"
    return None


def _has_ext(text):
    return bool(re.search(r"\.[A-Za-z0-9]{1,6}$", text))


class PathRule:
    """``absolute-path``: string literals, given to calls or assigned, that name a place outside
    the notebook's folder."""

    def __init__(self, aliases, report, notebook_dir):
        self.aliases = aliases
        self.report = report
        self.notebook_dir = str(notebook_dir)

    def _check(self, node, cell, fileish=False):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
                if (
                    "/" not in text.strip("/")
                    and not _WINDOWS.match(text)
                    and not text.startswith("~")
                ):
                    return  # f"/{x}": too little to tell
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            self._check(node.left, cell, True)  # Path("/data") / "x.csv"
            return
        if text is None:
            return
        why = path_problem(text, self.notebook_dir, fileish)
        if why:
            self.report(
                cell,
                node.lineno,
                f"`{text}` is {why}, outside the notebook's folder",
                "Put the file next to the notebook (or below it) and use a relative path, or read "
                "the location from a parameter or an environment variable.",
            )

    def on_call(self, call, cell):
        if isinstance(call.func, ast.Attribute) and call.func.attr in _ROUTE_METHODS:
            return
        if isinstance(call.func, ast.Name) and call.func.id in (
            "print",
            "display",
            "re",
            "compile",
        ):
            return
        q = self.aliases.qualname(call.func) or ""
        if q.startswith(("re.", "requests.", "httpx.", "urllib.", "fastapi.", "flask.")):
            return
        f = call.func
        fname = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        fileish = bool(_FILE_FUNCS.match(fname or ""))
        for arg in call.args:
            self._check(arg, cell, fileish)
        for k in call.keywords:
            if k.arg not in _PATHISH_KW:
                self._check(
                    k.value,
                    cell,
                    fileish
                    or k.arg
                    in (
                        "path",
                        "filepath",
                        "filename",
                        "file",
                        "fname",
                        "path_or_buf",
                        "dir",
                        "directory",
                        "root",
                    ),
                )

    def on_assign(self, value, cell):
        self._check(value, cell)
