"""triantafyllopoulos2022's fine-tuned BERT baseline (``bert-finetune``): ``bert_model.py`` has
the network (a keras-hub BERT backbone + a final linear layer), its config, its declared input
and the paper's fine-tuning recipe (Sec. 4.2)."""
from ser_keras.models.bert.bert_model import (
    ALIASES,
    PAPER,
    PAPER_NUM_CLASSES,
    TEXT_INPUT,
    TRAINING,
    BertFinetune,
    BertFinetuneConfig,
    build_bert_finetune,
    load_backbone,
    resolve_preset,
)

__all__ = ["ALIASES", "BertFinetune", "BertFinetuneConfig", "PAPER", "PAPER_NUM_CLASSES",
           "TEXT_INPUT", "TRAINING", "build_bert_finetune", "load_backbone", "resolve_preset"]
