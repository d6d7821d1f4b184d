"""``dynamicall train RECIPE.toml --data FILE.h5 --out emulators/NAME``: train an emulator."""


def run(args) -> int:
    import pathlib

    from ..train.dataset import read_dataset
    from ..train.recipe import load_recipe
    from ..train.training import TrainSettings, fit, problem_from_recipe, split_holdout

    recipe = load_recipe(args.recipe)
    train = read_dataset(args.data)
    if tuple(train.input_names) != recipe.input_names or tuple(train.quantities) != recipe.quantities:
        raise SystemExit(f"{args.data} does not hold recipe {recipe.name!r}'s inputs and quantities")
    if args.val:
        val = read_dataset(args.val)
        x_train, y_train, x_val, y_val = train.inputs, train.outputs, val.inputs, val.outputs
        val_source = dict(file=pathlib.Path(args.val).name, content_hash=val.attrs.get("content_hash"))
    else:
        x_train, y_train, x_val, y_val = split_holdout(train.inputs, train.outputs, args.holdout, args.seed)
        val_source = dict(holdout_fraction=args.holdout)
    settings = TrainSettings(
        batch_size=args.batch, learning_rate=args.lr, max_epochs=args.max_epochs, patience=args.patience,
        plateau_patience=args.plateau_patience, max_minutes=args.max_minutes, seed=args.seed,
    )
    architecture = dict(family=args.family, width=args.width, depth=args.depth, activation=args.activation)
    provenance = dict(dataset_file=pathlib.Path(args.data).name, dataset_content_hash=train.attrs.get("content_hash"),
                      validation_set=val_source, engine=train.attrs.get("engine_version"))
    emulator = fit(problem_from_recipe(recipe), (x_train, y_train), (x_val, y_val), architecture, args.out,
                   settings=settings, name=args.name, provenance=provenance, progress=not args.quiet)
    best = emulator.card["training"]["best_validation"]
    print(f"saved {emulator.name!r} to {args.out}: best epoch {best.get('epoch')}, validation median |E| "
          f"{best.get('val_median_rel_err', float('nan')):.2e}, p99 max |E| {best.get('val_p99_max_rel_err', float('nan')):.2e}")
    print(f"next: dynamicall validate {args.out}")
    return 0


def register(sub):
    p = sub.add_parser("train", help="train an emulator on a generated training set")
    p.add_argument("recipe", help="the recipe (TOML) the training set was generated from")
    p.add_argument("--data", required=True, help="training set (HDF5 from dynamicall generate)")
    p.add_argument("--val", help="validation set (HDF5, another seed); default: hold out --holdout of --data")
    p.add_argument("--holdout", type=float, default=0.05, help="held-out fraction without --val (default 0.05)")
    p.add_argument("--out", required=True, help="emulator folder to write (resumes if interrupted)")
    p.add_argument("--name", help="emulator name (default: the folder name)")
    p.add_argument("--family", choices=("mlp",), default="mlp",
                   help="network family (CNN+MLP emulators train from arrays, see docs/emulators.md)")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--activation", default="silu")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=2e-3, help="initial learning rate")
    p.add_argument("--max-epochs", type=int, default=500)
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--patience", type=int, default=16, help="early-stopping patience (epochs)")
    p.add_argument("--plateau-patience", type=int, default=5, help="epochs before the learning rate halves")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    p.set_defaults(func=run)
