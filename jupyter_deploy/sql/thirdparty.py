"""XGBoost and LightGBM models, registered only when those packages are installed."""

from __future__ import annotations
