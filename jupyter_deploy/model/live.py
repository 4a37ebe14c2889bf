"""What the model-based targets (model, container) share before they build anything: the clean
run's model and sample, and the comparison of the live session's model with the clean one.

A difference means the session has hidden state: the deploy is refused unless ``--force``, in
which case the clean run's model is deployed and the difference is recorded as a proof.
"""

from __future__ import annotations

from ..errors import TargetError, UnsupportedModel, VerificationFailed
from ..bundle import Proof
from ..plugin import DeployContext

LIVE_ROWS = 1000


def clean_model_and_sample(ctx: DeployContext, var: str, sample_name: str, *, need_predict=True):
    """(model, pickled bytes or None, sample or None) from the notebook's clean run."""
    model = ctx.objects.get(var)
    pickled = ctx.objects.pickled(var)
    sample = ctx.objects.get(sample_name) if sample_name else None
    if need_predict and not callable(getattr(model, "predict", None)):
        raise UnsupportedModel(
            f"{var} is a {type(model).__name__}, not a model with a predict method.",
            hint="Give the variable that holds the fitted estimator (e.g. clf or pipe).",
        )
    return model, pickled, sample


def compare_live(ctx: DeployContext, var: str, sample_name: str, model, sample) -> tuple[list[Proof], bool]:
    """Compare the live ``var`` with the clean run's on the sample: (proofs, live_differs)."""
    from .schema import as_2d, head
    from .standalone import compare_outputs, predict_outputs

    live = ctx.objects.live(var)
    if sample is None or live is None or live is model:
        return [], False
    ctx.reporter("build", 0, 3, f"comparing the live {var} with the clean run's")
    rows = head(as_2d(sample), LIVE_ROWS)
    try:
        clean_out = predict_outputs(model, rows)
    except Exception as exc:  # noqa: BLE001 - the user's model and sample
        raise TargetError(
            f"The model cannot predict on the sample {sample_name}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            hint="Pass as --sample data shaped like the training inputs (e.g. X_test).",
        ) from exc
    try:
        diff = compare_outputs(clean_out, predict_outputs(live, rows))
    except Exception as exc:  # noqa: BLE001 - the live object is not even a model now
        diff = f"the live object fails to predict ({type(exc).__name__})"
    if not diff:
        return [Proof("live-vs-clean", True, f"live and clean {var} agree on {len(rows)} sample rows")], False
    if not ctx.force:
        raise VerificationFailed(
            f"The live {var} and the one the notebook's clean re-run produces disagree on "
            f"{sample_name}: {diff}. Nothing was deployed.",
            hint="The session has hidden state (cells run out of order, edited or deleted): "
            "restart and run all, or pass --force to deploy the clean run's model anyway "
            "(recorded as forced).",
            difference=diff,
        )
    return [Proof("live-vs-clean", True, f"differs, deployed with --force: {diff}", {"forced": True})], True
