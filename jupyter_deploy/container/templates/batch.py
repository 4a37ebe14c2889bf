"""Batch predictions: a CSV or Parquet file in, predictions out, in chunks so memory stays flat.

    python batch.py INPUT OUTPUT [--chunk-rows 10000] [--id-column COL] [--keep-columns]

INPUT and OUTPUT are .csv or .parquet (Parquet needs pyarrow in the image). Each chunk is checked
against the model's schema like a request to the API; a row that does not fit stops the run with
its row number and column (exit status 2), and the partial output is removed. The output has one
row per input row: the prediction, then one probability column per class ("proba_<class>").

In the container:
    docker run --rm -v "$PWD:/data" IMAGE python /app/batch.py /data/in.csv /data/out.csv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serving  # noqa: E402


def file_format(path, given=None):
    if given and given != "auto":
        return given
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".gz", ".bz2", ".zip", ".xz"):
        return "csv"
    raise SystemExit(f"error: cannot tell the format of {path}; use --format csv|parquet")


def need_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise SystemExit("error: Parquet needs pyarrow, which this image does not have; add "
                         "pyarrow to requirements.txt (or deploy with --parquet) and rebuild, or "
                         "use CSV") from None


def read_chunks(path, fmt, rows):
    import pandas as pd

    if fmt == "csv":
        yield from pd.read_csv(path, chunksize=rows)
    else:
        need_pyarrow()
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=rows):
                yield batch.to_pandas()


class Writer:
    def __init__(self, path, fmt):
        self.path = Path(path)
        self.fmt = fmt
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        self.parquet = None
        self.first = True

    def write(self, frame):
        if self.fmt == "csv":
            frame.to_csv(self.tmp, mode="w" if self.first else "a", header=self.first,
                         index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.tmp, table.schema)
            self.parquet.write_table(table)
        self.first = False

    def close(self, ok):
        if self.parquet is not None:
            self.parquet.close()
        if ok:
            if self.first:  # no rows at all: an empty output with the header only
                self.tmp.write_text("")
            os.replace(self.tmp, self.path)
        elif self.tmp.exists():
            self.tmp.unlink()


def run(input_path, output_path, *, chunk_rows=10000, id_column=None, keep_columns=False,
        in_format=None, out_format=None, model=None, log=None):
    import pandas as pd

    model = model or serving.Model()
    fin = file_format(input_path, in_format)
    fout = file_format(output_path, out_format)
    if fout == "parquet":
        need_pyarrow()
    writer = Writer(output_path, fout)
    total = 0
    ok = False
    try:
        for chunk in read_chunks(input_path, fin, chunk_rows):
            if id_column and id_column not in chunk.columns:
                raise SystemExit(f"error: --id-column {id_column!r} is not a column of the "
                                 "input")
            try:
                X = model.check_frame(chunk, offset=total)
            except serving.InputError as exc:
                first = exc.errors[0]
                loc = first.get("loc") or []
                where = f"row {loc[1]}, column {loc[2]!r}: " if len(loc) == 3 else ""
                raise SystemExit(f"error: {where}{first['msg']} ({exc.total} problem(s) in this "
                                 "chunk)") from None
            out = model.predict(X)
            frame = pd.DataFrame({"prediction": out["predictions"]})
            if out.get("probabilities") is not None:
                probs = list(zip(*out["probabilities"]))
                for cls, column in zip(out["classes"], probs):
                    frame[f"proba_{cls}"] = column
            if keep_columns:
                frame = pd.concat([chunk.reset_index(drop=True), frame], axis=1)
            elif id_column:
                frame.insert(0, id_column, chunk[id_column].to_numpy())
            writer.write(frame)
            total += len(chunk)
            if log:
                log(f"{total} rows predicted")
        ok = True
    finally:
        writer.close(ok)
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="input file (.csv or .parquet)")
    parser.add_argument("output", help="output file (.csv or .parquet)")
    parser.add_argument("--chunk-rows", type=int, default=10000,
                        help="rows read, checked and predicted at a time (default 10000)")
    parser.add_argument("--id-column", default=None,
                        help="copy this input column into the output, first")
    parser.add_argument("--keep-columns", action="store_true",
                        help="copy every input column into the output")
    parser.add_argument("--format", default="auto", choices=["auto", "csv", "parquet"],
                        help="input format (default: from the file name)")
    parser.add_argument("--output-format", default="auto", choices=["auto", "csv", "parquet"])
    args = parser.parse_args(argv)
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be at least 1")
    if not Path(args.input).exists():
        print(f"error: {args.input} does not exist", file=sys.stderr)
        return 2
    try:
        model = serving.Model()
    except serving.StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    try:
        n = run(args.input, args.output, chunk_rows=args.chunk_rows, id_column=args.id_column,
                keep_columns=args.keep_columns, in_format=args.format,
                out_format=args.output_format, model=model,
                log=lambda m: print(m, file=sys.stderr))
    except SystemExit as exc:
        print(exc.code if isinstance(exc.code, str) else "error", file=sys.stderr)
        return 2
    print(f"{n} rows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
