"""The papers' experiments, shipped as package data: ``<paper>/<table>.yaml`` (cells, inputs,
recipe), ``<paper>/tables.yaml`` (the tables' layouts), ``<paper>/published.csv`` (the papers'
numbers) and ``<paper>/README.md`` (choices where a paper is silent). Found at run time through
``ser_keras.config.experiments_dir()``, from a checkout or an installed wheel alike."""
