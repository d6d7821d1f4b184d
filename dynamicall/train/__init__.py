"""Training sets for emulators: recipes, sampling designs, generation and datasets.

Modules (one concern each):

* :mod:`~dynamicall.train.recipe`: the recipe format (TOML) and the dimensionless Jeans
  model it defines (:func:`~dynamicall.train.recipe.load_recipe`,
  :func:`~dynamicall.train.recipe.dimensionless_dispersions`);
* :mod:`~dynamicall.train.design`: Sobol', Latin-hypercube and i.i.d. designs;
* :mod:`~dynamicall.train.dataset`: the HDF5 layout, chunk files, content hash,
  :func:`~dynamicall.train.dataset.read_dataset`;
* :mod:`~dynamicall.train.distributed`: devices and processes (``jax.sharding``,
  ``shard_map``, ``jax.distributed``);
* :mod:`~dynamicall.train.generate`: resumable, chunked generation
  (``dynamicall generate``);
* :mod:`~dynamicall.train.training`, :mod:`~dynamicall.train.validate`: training emulators
  on these sets and validating them against the exact engine.

Nothing here changes global JAX settings at import; h5py and scipy are imported when used.
"""
