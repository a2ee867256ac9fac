"""Stage-2 data: class sets, protocols (folds), and tf.data input from the feature store."""
from ser_keras.data.classes import CLASS_SETS, ClassSet, get_class_set
from ser_keras.data.protocols import PROTOCOLS, Fold, ProtocolError, make_folds

__all__ = ["CLASS_SETS", "ClassSet", "Fold", "PROTOCOLS", "ProtocolError", "get_class_set",
           "make_folds"]
