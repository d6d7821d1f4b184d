"""``dynamicall train RECIPE.toml --data FILE.h5 --out emulators/NAME``: train an emulator.

The emulator folder (card.json, weights.npz, report.md) is written as a whole at the end;
an existing one is kept unless ``--overwrite``. While training runs its state lives in
``.NAME.checkpoint/`` beside the folder; the same command resumes after an interruption.
"""

from __future__ import annotations

import sys


def _fail(message: str) -> int:
    print(f"dynamicall train: error: {message}", file=sys.stderr)
    return 2


def check_matches_recipe(data, recipe, path, role: str):
    """Raise ValueError naming what differs between a training set and the recipe."""
    import numpy as np

    problems = []
    if tuple(data.input_names) != recipe.input_names:
        problems.append(f"inputs {list(data.input_names)} (recipe: {list(recipe.input_names)})")
    if tuple(data.quantities) != recipe.quantities:
        problems.append(f"quantities {list(data.quantities)} (recipe: {list(recipe.quantities)})")
    if data.grid.shape != recipe.grid.shape or not np.allclose(data.grid, recipe.grid, rtol=1e-12):
        problems.append(f"a grid of {data.grid.size} radii {data.grid.min():.3g}-{data.grid.max():.3g} R_half "
                        f"(recipe: {recipe.grid.size} radii {recipe.grid.min():.3g}-{recipe.grid.max():.3g})")
    fingerprint = data.attrs.get("recipe_fingerprint")
    if not problems and fingerprint is not None and fingerprint != recipe.fingerprint_sha256():
        problems.append(f"another model or engine setting (recipe {data.attrs.get('recipe_name')!r}, fingerprint "
                        f"{str(fingerprint)[:12]}... vs {recipe.fingerprint_sha256()[:12]}...)")
    if problems:
        raise ValueError(f"{role} {path} was not generated from recipe {recipe.name!r}: it has "
                         + "; ".join(problems) + f". Generate it with: dynamicall generate {recipe.name}.toml ...")


def run(args) -> int:
    import pathlib

    import numpy as np

    from .._durable import OutputExistsError, is_nonempty_folder
    from ..train.dataset import read_dataset
    from ..train.recipe_file import load_recipe
    from ..train.training import TrainSettings, problem_from_recipe, split_holdout, train_network

    out = pathlib.Path(args.out)
    if is_nonempty_folder(out) and not args.overwrite:
        return _fail(f"{out} already holds an emulator; choose another --out, or pass --overwrite to replace it")
    for name, value, low in (("--batch", args.batch, 1), ("--max-epochs", args.max_epochs, 1),
                             ("--width", args.width, 1), ("--depth", args.depth, 1),
                             ("--patience", args.patience, 1), ("--plateau-patience", args.plateau_patience, 1),
                             ("--pca", args.pca, 0), ("--grad-batch", args.grad_batch, 1)):
        if value < low:
            return _fail(f"{name} must be >= {low}; got {value}")
    if not args.lr > 0 or not 0 < args.holdout < 1 or args.grad_weight < 0:
        return _fail(f"need --lr > 0, 0 < --holdout < 1 and --grad-weight >= 0; got {args.lr}, {args.holdout}, "
                     f"{args.grad_weight}")
    try:
        recipe = load_recipe(args.recipe)
        sets = [read_dataset(path) for path in args.data]
        for path, data in zip(args.data, sets):
            check_matches_recipe(data, recipe, path, "--data")
        val = read_dataset(args.val) if args.val else None
        if val is not None:
            check_matches_recipe(val, recipe, args.val, "--val")
        val_jac = read_dataset(args.val_jacobian) if args.val_jacobian else None
        if val_jac is not None:
            check_matches_recipe(val_jac, recipe, args.val_jacobian, "--val-jacobian")
            if val_jac.jacobian is None:
                raise ValueError(f"--val-jacobian {args.val_jacobian} holds no Jacobian (generate it with --jacobian)")
    except (OSError, ValueError, KeyError) as err:
        from ..cli import one_line

        return _fail(one_line(err))
    cnn = recipe.encoder is not None
    if cnn != (args.family == "cnn_mlp"):
        return _fail(f"recipe {recipe.name!r} " + ("has an [encoder]: train it with --family cnn_mlp" if cnn
                                                   else "has no [encoder] table: a cnn_mlp needs one"))
    # a CNN reads the tracer's profile: the recipe's tracer inputs become profile columns
    net = recipe.network_inputs if cnn else (lambda x: x)
    inputs = net(np.concatenate([d.inputs for d in sets]))
    outputs = np.concatenate([d.outputs for d in sets])
    with_jac = [d for d in sets if d.jacobian is not None]
    if cnn and (with_jac and args.grad_weight > 0):
        return _fail("--grad-weight is not supported for cnn_mlp emulators (train on values)")
    if args.grad_weight > 0 and not with_jac:
        return _fail("--grad-weight needs a --data set with the Jacobian (dynamicall generate --jacobian)")
    jacobian_data = None
    if with_jac and args.grad_weight > 0:
        jacobian_data = (np.concatenate([d.inputs for d in with_jac]), np.concatenate([d.jacobian for d in with_jac]))
    if val is not None:
        x_train, y_train, x_val, y_val = inputs, outputs, net(val.inputs), val.outputs
        val_source = dict(file=pathlib.Path(args.val).name, content_hash=val.attrs.get("content_hash"))
    else:
        x_train, y_train, x_val, y_val = split_holdout(inputs, outputs, args.holdout, args.seed)
        val_source = dict(holdout_fraction=args.holdout)
    settings = TrainSettings(
        batch_size=args.batch, learning_rate=args.lr, max_epochs=args.max_epochs, patience=args.patience,
        plateau_patience=args.plateau_patience, max_minutes=args.max_minutes, seed=args.seed,
        schedule=args.schedule,
    ) if (args.schedule == "plateau" or args.max_minutes) else None
    if settings is None:
        return _fail("--schedule cosine needs --max-minutes (the length of the schedule)")
    architecture = dict(family=args.family, width=args.width, depth=args.depth, activation=args.activation)
    if cnn:
        try:
            channels = [int(c) for c in args.channels.split(",")]
        except ValueError:
            return _fail(f"--channels must be integers separated by commas, e.g. 8,16; got {args.channels!r}")
        if not channels or min(channels) < 1 or args.kernel < 1 or args.features < 1:
            return _fail(f"need --channels >= 1 each, --kernel >= 1 and --features >= 1; got {args.channels}, "
                         f"{args.kernel}, {args.features}")
        architecture.update(n_profile=int(recipe.profile_grid.size), channels=channels, kernel=args.kernel,
                            n_features=args.features)
    provenance = dict(dataset_file=", ".join(pathlib.Path(p).name for p in args.data),
                      dataset_content_hash=", ".join(str(d.attrs.get("content_hash")) for d in sets),
                      validation_set=val_source, engine=sets[0].attrs.get("engine_version"))
    try:
        emulator = train_network(problem_from_recipe(recipe), (x_train, y_train), (x_val, y_val), architecture, out,
                       settings=settings, name=args.name, provenance=provenance, progress=not args.quiet,
                       overwrite=args.overwrite, baseline=args.baseline, n_components=args.pca,
                       jacobian_data=jacobian_data, grad_weight=args.grad_weight, grad_batch=args.grad_batch,
                       init_from=args.init_from,
                       val_jacobian=None if val_jac is None else (
                           net(val_jac.inputs), val_jac.jacobian[:, :, recipe.network_columns]))
    except (OutputExistsError, ValueError) as err:
        return _fail(str(err))
    best = emulator.card["training"]["best_validation"]
    grad = best.get("val_grad_median_rel_err")
    print(f"saved {emulator.name!r} to {args.out}: best epoch {best.get('epoch')}, validation median |E| "
          f"{best.get('val_median_rel_err', float('nan')):.2e}, p99 max |E| {best.get('val_p99_max_rel_err', float('nan')):.2e}"
          + (f", gradient median rel. error {grad:.2e}" if grad is not None else ""))
    print(f"next: dynamicall validate {args.out}")
    return 0


def register(sub):
    p = sub.add_parser("train", help="train an emulator on a generated training set")
    p.add_argument("recipe", help="the recipe (TOML) the training set was generated from")
    p.add_argument("--data", required=True, action="append",
                   help="training set (HDF5 from dynamicall generate); repeat to join several (e.g. a set with "
                        "the Jacobian)")
    p.add_argument("--val", help="validation set (HDF5, another seed); default: hold out --holdout of --data")
    p.add_argument("--val-jacobian", help="held-out set with the Jacobian: gradient accuracy per epoch and in the card")
    p.add_argument("--holdout", type=float, default=0.05, help="held-out fraction without --val (default 0.05)")
    p.add_argument("--out", required=True, help="emulator folder to write (resumes if interrupted)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing emulator in --out")
    p.add_argument("--name", help="emulator name (default: the folder name)")
    p.add_argument("--family", choices=("mlp", "cnn_mlp"), default="mlp",
                   help="network family: mlp, or cnn_mlp (a CNN encoder of the tracer's light profile + an MLP "
                        "head; needs a recipe with an [encoder] table, see docs/tracers.md)")
    p.add_argument("--channels", default="8,16", help="cnn_mlp: channels of the stride-2 convolutions (default 8,16)")
    p.add_argument("--kernel", type=int, default=5, help="cnn_mlp: convolution kernel size (default 5)")
    p.add_argument("--features", type=int, default=8, help="cnn_mlp: encoder outputs (default 8)")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--activation", default="silu")
    p.add_argument("--baseline", choices=("quadrature", "closed_form", "none"), default="quadrature",
                   help="physical baseline subtracted from the targets (default quadrature)")
    p.add_argument("--pca", type=int, default=0, help="predict K principal components instead of the grid (0: grid)")
    p.add_argument("--grad-weight", type=float, default=0.0,
                   help="weight of the Jacobian mismatch in the loss (needs a --data set made with --jacobian)")
    p.add_argument("--grad-batch", type=int, default=64, help="Jacobian rows per step (default 64)")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3, help="initial learning rate")
    p.add_argument("--max-epochs", type=int, default=500)
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--patience", type=int, default=16, help="early-stopping patience (epochs)")
    p.add_argument("--plateau-patience", type=int, default=5, help="epochs before the learning rate halves")
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="plateau",
                   help="learning rate: halve on plateaus (default), or a cosine decay over --max-minutes")
    p.add_argument("--init-from", default=None,
                   help="start from the best parameters in a training checkpoint folder (.NAME.checkpoint) of "
                        "the same data and architecture")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    p.set_defaults(func=run)
