"""Write binder/data/sales.csv: a small, made-up sales table with a fixed seed (no download)."""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(2024)
months = pd.period_range("2025-01", "2025-12", freq="M").astype(str)
rows = []
for region, base in (("north", 120), ("south", 95), ("east", 140), ("west", 80)):
    for product, price in (("basic", 9.5), ("plus", 19.0), ("pro", 49.0)):
        trend = rng.normal(1.5, 0.5)
        for i, month in enumerate(months):
            units = max(0, int(base * (1 + trend * i / 100) * {"basic": 1.0, "plus": 0.6, "pro": 0.2}[product] + rng.normal(0, 8)))
            rows.append({"month": month, "region": region, "product": product, "units": units,
                         "revenue": round(units * price, 2)})
out = Path(__file__).resolve().parent.parent / "binder" / "data" / "sales.csv"
pd.DataFrame(rows).to_csv(out, index=False)
print(out, len(rows))
