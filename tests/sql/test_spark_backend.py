"""`jupyter deploy sql ... --to spark:///warehouse`: a view in a Spark catalog, end to end.

Three real processes, each with its own Spark (embedded Derby allows one JVM at a time): one
creates the table in a local catalog, the CLI checks the notebook and creates the view, a third
Spark reads the view back from the catalog and gets scikit-learn's predictions.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from jdtest import PYTHON, need_command, need_module, run_cli

pytestmark = [pytest.mark.spark, pytest.mark.kernel, pytest.mark.slow]

CELLS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier",
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame(rng.normal(size=(200, 3)), columns=['a', 'b', 'c'])\n"
    "y = np.where(X.a + X.b * X.c > 0, 'yes', 'no')\n"
    "clf = RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y)\n"
    "X_test = X.head(30)\nprint(clf.score(X, y))",
]

SPARK = """
import json, sys
import numpy as np, pandas as pd
from pyspark.sql import SparkSession
folder = sys.argv[1]
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.sql.warehouse.dir", folder + "/warehouse")
         .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                 "jdbc:derby:;databaseName=" + folder + "/metastore_db;create=true")
         .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + folder)
         .enableHiveSupport().getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
"""


def spark_script(tmp_path, body: str, *args) -> str:
    proc = subprocess.run([PYTHON, "-c", SPARK + textwrap.dedent(body), *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_view_in_a_spark_catalog_end_to_end(make_notebook, tmp_path):
    need_command("java", "apt-get install openjdk-17-jre-headless")
    need_module("pyspark", "pip install 'jupyter-deploy[spark]'")
    nb = make_notebook(CELLS, name="model.ipynb")
    folder = tmp_path / "lake"
    folder.mkdir()
    # the table, in the catalog (scores: an id and the three features, NULLs included)
    spark_script(tmp_path, """
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.normal(size=(200, 3)), columns=['a', 'b', 'c'])
        rows = [(int(i), float(r.a), None if i % 7 == 0 else float(r.b), float(r.c))
                for i, r in enumerate(X.head(60).itertuples())]
        spark.createDataFrame(rows, "id long, a double, b double, c double").write.saveAsTable("scores")
    """, folder)

    url = f"spark://{folder}"  # spark:///abs/path
    assert url.startswith("spark:///")
    missing = run_cli("sql", nb, "--var", "clf", "--table", "missing_table", "--sample", "X_test",
                      "--to", url, "-q", cwd=nb.parent)
    assert missing.returncode != 0 and "missing_table cannot be read" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    proc = run_cli("sql", nb, "--var", "clf", "--table", "scores", "--sample", "X_test", "--keep", "id",
                   "--to", url, "--json", "-q", cwd=nb.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    proofs = {p["name"]: p for p in result["proofs"]}
    assert proofs["spark-view"]["ok"], proofs
    assert "label agreement 100.00%" in proofs["spark-view"]["detail"]
    assert "the view returns 60 rows from scores" in proofs["spark-view"]["detail"]

    # another Spark, later: the view is in the catalog and scores the table like scikit-learn
    out = spark_script(tmp_path, """
        got = spark.sql("SELECT * FROM scores_predictions ORDER BY id").toPandas()
        views = [r.viewName for r in spark.sql("SHOW VIEWS").collect()]
        print(json.dumps({"views": views, "id": got.id.tolist(), "prediction": got.prediction.tolist(),
                          "p_yes": got.probability_yes.tolist(),
                          "X": spark.sql("SELECT a, b, c FROM scores ORDER BY id").toPandas().to_dict("list")}))
    """, folder)
    data = json.loads(out.strip().splitlines()[-1])
    assert data["views"] == ["scores_predictions"]  # nothing from the failed deploy
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = np.where(X.a + X.b * X.c > 0, "yes", "no")
    clf = RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y)
    table = pd.DataFrame(data["X"]).astype(float)
    assert data["id"] == list(range(60))
    assert data["prediction"] == list(clf.predict(table))
    assert np.abs(np.array(data["p_yes"]) - clf.predict_proba(table)[:, 1]).max() <= 1e-9
