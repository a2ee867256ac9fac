"""ser-keras: bimodal (speech + text) speech emotion recognition with Keras 3.

Stage 2 of the package: reads the feature store written by ``ser-prepare`` (``data_prep``),
builds models, trains them under the papers' protocols and reports the papers' tables.
The store format, the one contract between the two stages, is ``ser_keras.store``.
"""

__version__ = "0.1.0"
