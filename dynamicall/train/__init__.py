"""Training sets for emulators: recipes, sampling designs, generation and datasets.

Modules (one concern each):

* :mod:`~dynamicall.train.recipe`: the parsed recipe and the dimensionless Jeans model it
  defines (:class:`~dynamicall.train.recipe.Recipe`,
  :func:`~dynamicall.train.recipe.dimensionless_dispersions`);
* :mod:`~dynamicall.train.recipe_file`: reading and validating recipe TOML files
  (:func:`~dynamicall.train.recipe_file.load_recipe`, also importable from
  :mod:`~dynamicall.train.recipe`);
* :mod:`~dynamicall.train.design`: Sobol', Latin-hypercube and i.i.d. designs
  (:func:`~dynamicall.train.design.design_points`);
* :mod:`~dynamicall.train.dataset`: the HDF5 layout, chunk files, content hash,
  :func:`~dynamicall.train.dataset.read_dataset`;
* :mod:`~dynamicall.train.distributed`: devices and processes (``jax.sharding``,
  ``shard_map``, ``jax.distributed``);
* :mod:`~dynamicall.train.generate`: resumable, chunked generation
  (``dynamicall generate``);
* :mod:`~dynamicall.train.training`, :mod:`~dynamicall.train.validate`: training emulators
  on these sets (:func:`~dynamicall.train.training.train_network`) and validating them
  against the exact engine.

Nothing here changes global JAX settings at import; h5py and scipy are imported when used.
"""
