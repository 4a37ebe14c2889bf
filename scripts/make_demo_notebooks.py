"""Write the demo notebooks in binder/ and save them with the outputs of a real run.

Each notebook is executed in a real kernel, as its author would have run it, except that the
``%deploy`` cells are left unexecuted: they are for the reader (or the main job) to run. The
"defects" notebook is then edited to show what hidden state looks like (a deleted cell,
out-of-order counts), as it would after a messy session.

    .venv/bin/python scripts/make_demo_notebooks.py
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BINDER = Path(__file__).resolve().parent.parent / "binder"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text):
    return new_markdown_cell(text.strip())


def code(text, tags=()):
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


MODEL = [
    md("""
# Churn model: from notebook to production

A realistic tabular problem (customer churn, generated with a fixed seed so it runs anywhere
without a download), a scikit-learn `Pipeline` with preprocessing, and then the four ways
jupyter-deploy takes it to production. Each `%deploy` line first checks that this notebook
re-runs cleanly, and afterwards **proves** that what was deployed answers like the model here.
"""),
    code("%load_ext jupyter_deploy"),
    code("""
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
"""),
    md("## Data: 3,000 customers"),
    code("""
rng = np.random.default_rng(7)
n = 3000
customers = pd.DataFrame({
    "tenure_months": rng.integers(1, 72, n).astype(float),
    "monthly_charges": rng.normal(65, 20, n).round(2).clip(15, 150),
    "support_calls": rng.poisson(1.5, n).astype(float),
    "contract": rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.2]),
    "region": rng.choice(["north", "south", "east", "west"], n),
})
logit = (-1.2 - 0.04 * customers.tenure_months + 0.02 * customers.monthly_charges
         + 0.45 * customers.support_calls
         + customers.contract.map({"month-to-month": 1.1, "one-year": -0.4, "two-year": -1.3}))
customers["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
customers.head()
"""),
    code("""
features = ["tenure_months", "monthly_charges", "support_calls", "contract", "region"]
X_train, X_test, y_train, y_test = train_test_split(
    customers[features], customers.churned, test_size=0.25, random_state=0,
    stratify=customers.churned)
print(f"{len(X_train)} training rows, {len(X_test)} test rows, churn rate {y_train.mean():.3f}")
"""),
    md("## Model: scaling + one-hot encoding + logistic regression"),
    code("""
clf = Pipeline([
    ("prep", ColumnTransformer([
        ("num", StandardScaler(), ["tenure_months", "monthly_charges", "support_calls"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["contract", "region"]),
    ])),
    ("model", LogisticRegression(max_iter=1000)),
])
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.4f}")
"""),
    code("X_sample = X_test.head(25)\nclf.predict_proba(X_sample)[:5].round(4)"),
    md("""
## Take it to production

1. **Check** that the notebook re-runs cleanly from a fresh kernel and reproduces its outputs.
2. **Model**: a versioned, verified artefact in the registry (reloaded in a fresh process).
3. **SQL**: the pipeline as one SQL query, proven equal to `predict_proba` on DuckDB.
4. **Container**: a FastAPI service + Dockerfile, its API started and compared with `clf`.
"""),
    code("%deploy check"),
    code("%deploy model clf --name churn --sample X_sample --alias production --metric accuracy=0.74"),
    code("%deploy sql clf --table customers --sample X_sample --dialect duckdb"),
    code("%deploy container clf --name churn --sample X_sample"),
    code("%deploy history"),
]

REPORT = [
    md("""
# Monthly sales report

A short analysis of the bundled sales table (`data/sales.csv`), with a `parameters` cell so one
notebook gives one report per region: `%deploy report --param region=north`.
"""),
    code('region = "all"  # "all", "north", "south", "east" or "west"', tags=["parameters"]),
    code("""
import pandas as pd
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt

sales = pd.read_csv("data/sales.csv")
if region != "all":
    sales = sales[sales.region == region]
print(f"{len(sales)} rows for region {region!r}")
""", tags=["remove_input"]),
    md("## Revenue by product"),
    code("""
by_product = sales.groupby("product")[["units", "revenue"]].sum().sort_values("revenue", ascending=False)
by_product
"""),
    md("## Revenue by month"),
    code("""
monthly = sales.pivot_table(index="month", columns="product", values="revenue", aggfunc="sum")
ax = monthly.plot(figsize=(7, 3.5), marker="o", title=f"Monthly revenue ({region})")
ax.set_ylabel("revenue")
plt.tight_layout()
plt.show()
"""),
    code('print(f"Total revenue: {sales.revenue.sum():,.2f}")'),
    md("## Publish"),
    code("%load_ext jupyter_deploy"),
    code('%deploy report --title "Monthly sales" --no-input'),
]

DEFECTS = [
    md("""
# What the check finds (a notebook with deliberate defects)

Each cell below hides one of the classic reasons a notebook does not reproduce. Run
`%deploy check` (or `jupyter deploy check defects-demo.ipynb`) and compare the findings with the
notes. The fix for each is in the README's *How repeatability is judged* section.
"""),
    code("import random\nimport datetime\nimport numpy as np"),
    md("**Unseeded randomness**: the printed value changes on every run. Fix: `random.seed(0)` or `np.random.default_rng(0)`."),
    code("noise = np.random.rand(3)\nprint(noise.round(3))"),
    md("**Wall clock**: the output depends on when it ran. Fix: pass the date as a parameter."),
    code('print("report generated", datetime.date.today())'),
    md("**Absolute path**: only exists on the author's machine. Fix: keep data next to the notebook."),
    code('raw_file = "/home/alice/projects/churn/raw.csv"\nprint(len(raw_file))'),
    md("**Hidden state**: `threshold` was defined in a cell that was later deleted."),
    code("flagged = [x for x in noise if x > 0.5]\nthreshold = 0.5"),
    code("total = sum(noise > threshold)\nprint('above threshold:', total)"),
]


def execute(nb, path: Path):
    env = dict(os.environ, JUPYTER_DEPLOY_CLEAN_RUN="1")
    runnable = [c for c in nb.cells if not (c.cell_type == "code" and "%deploy" in c.source)]
    work = new_notebook(cells=runnable, metadata={"kernelspec": KERNEL})
    client = NotebookClient(work, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel(env=env):
        count = 0
        for i, cell in enumerate(work.cells):
            if cell.cell_type == "code":
                count += 1
                client.execute_cell(cell, i, execution_count=count)
    executed = iter(work.cells)
    for cell in nb.cells:
        if cell.cell_type == "code" and "%deploy" in cell.source:
            cell.outputs, cell.execution_count = [], None
        else:
            done = next(executed)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = done.outputs, done.execution_count
    nb.metadata["language_info"] = work.metadata.get("language_info", {"name": "python"})


def write(name, cells, edit=None):
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNEL})
    path = BINDER / name
    execute(nb, path)
    if edit:
        edit(nb)
    nbformat.write(nb, path)
    print("wrote", path)


def messy_session(nb):
    # The author ran the hidden-state cells in another order and deleted a cell on the way.
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    code_cells[-2].execution_count, code_cells[-1].execution_count = 9, 4
    code_cells[-2].source = "flagged = [x for x in noise if x > 0.5]"


if __name__ == "__main__":
    write("model-demo.ipynb", MODEL)
    write("report-demo.ipynb", REPORT)
    write("defects-demo.ipynb", DEFECTS, edit=messy_session)
