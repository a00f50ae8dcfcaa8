"""Finished run directories as `mezoo.parity` reads them, made without training."""

import json

from mezoo import recipe as recipes


def stand_in(root, model, seed, auc):
    """A finished run directory as `mezoo.parity` reads it (recipe, metrics, a model file), without training."""
    run = root / f"{model}_seed{seed}"
    run.mkdir(parents=True)
    (run / "recipe.yaml").write_text(recipes.dump(recipes.load(f"{model}_se_frappe", [f"train.seed={seed}"])))
    epochs = [{"epoch": e} for e in range(1, 13)]
    metrics = {"finished": True, "test_auc": auc, "test_logloss": 0.15, "best_epoch": 10, "epochs": epochs}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "model.keras").write_bytes(b"")
    return run


def runs(root, model, aucs):
    return [stand_in(root, model, 2024 + number, auc) for number, auc in enumerate(aucs)]
