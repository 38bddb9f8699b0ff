"""Build offline GLiNER2 models: ``python -m conformance.builders.gliner2_model OUTDIR [--size bench]``.

A WordPiece tokenizer trained on a few sentences and an encoder with random weights, saved and loaded
through the library's real ``save_pretrained``/``from_pretrained``. Nothing is downloaded.

- ``tiny`` (default): a BERT encoder of 2 layers, width 32, ~93k parameters: the functional checks
  (labels are random, so tests assert shapes and types, never content).
- ``bench``: the encoder GLiNER2 base is fine-tuned from, DeBERTa-v3-base, in its published
  configuration (12 layers, width 768, 12 heads, 3072 feed-forward, relative positions in 256 buckets),
  for throughput figures that mean something: a model costing less than its HTTP request cannot show
  what micro-batching buys (issue 15). Only the vocabulary is the tokenizer's, not DeBERTa's 128k, which
  changes the embedding table's size and not the work. ~115M parameters, ~440 MB on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: Sentences the tokenizer is trained on; the vocabulary covers the words the tests send.
CORPUS = (
    "Apple released the new iPhone in California on Monday.",
    "Barack Obama was born in Hawaii and studied at Harvard.",
    "The meeting with Google and Microsoft is in Paris next week.",
    "Tim Cook announced a price of 999 dollars for the phone.",
    "The weather in Berlin was great, the customer was happy with the product.",
    "Jetson Orin runs the detector and the entity extraction service.",
)
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
REQUIRED_FILES = ("config.json", "encoder_config/config.json", "model.safetensors",
                  "tokenizer.json")


class TinyModelError(RuntimeError):
    """The tiny model could not be built or does not load back."""


def build_tokenizer(corpus: Sequence[str] = CORPUS, vocab_size: int = 300) -> Any:
    """A BERT-style fast tokenizer trained on ``corpus`` (tokenizers WordPiece)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(list(corpus), trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)


#: Each size's encoder: its transformers model type and the values it is built with (the vocabulary is the
#: tokenizer's). A saved model whose encoder config differs from these (the bench model was a BERT until
#: 2026-11-30) does not count as built, and is rebuilt.
ENCODERS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    # Room for MAX_TEXT_CHARS (10,000 characters) plus the schema prompt: BERT's absolute positions make a
    # longer input a hard error, unlike the relative ones of real checkpoints.
    "tiny": ("bert", {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                      "intermediate_size": 64, "max_position_embeddings": 4096}),
    # microsoft/deberta-v3-base's values. What matters for throughput beyond the size: every layer projects
    # the 2 x 256 relative-position embeddings through its query and key weights once per call, whatever
    # the batch (~14.5 GFLOP a call, more than a one-sentence text's own ~6): work a batch shares and a
    # BERT of the same size does not have.
    "bench": ("deberta-v2", {
        "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
        "hidden_act": "gelu", "layer_norm_eps": 1e-7, "max_position_embeddings": 512, "type_vocab_size": 0,
        "position_biased_input": False, "relative_attention": True, "max_relative_positions": -1,
        "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": True,
        "pos_att_type": ["p2c", "c2p"], "pad_token_id": 0}),
}


def encoder_signature(size: str) -> Dict[str, Any]:
    """The values ``size``'s saved encoder config must hold to count as built."""
    model_type, values = ENCODERS[size]
    return {"model_type": model_type, **values}


def encoder_config(size: str, vocab_size: int) -> Any:
    """The transformers config of ``size``'s encoder (random weights are drawn from it)."""
    from transformers import AutoConfig

    model_type, values = ENCODERS[size]
    return AutoConfig.for_model(model_type, vocab_size=vocab_size, **values)


def build(outdir: Path, seed: int = 0, size: str = "tiny") -> Path:
    """Write the model of ``size`` to ``outdir`` (atomically: a temp dir renamed into place)."""
    if size not in ENCODERS:
        raise TinyModelError(f"size must be one of {', '.join(ENCODERS)}, but got {size!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from gliner2 import ExtractorConfig, GLiNER2

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    # Both encoder_config and tokenizer are given, else the constructor reaches for the hub.
    config = ExtractorConfig(model_name=f"orin-kit/gliner2-{size}", max_width=8,
                             counting_layer="count_lstm")
    model = GLiNER2(config, encoder_config=encoder_config(size, len(tokenizer)), tokenizer=tokenizer)
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        model.save_pretrained(str(tmp))
        missing = [f for f in REQUIRED_FILES if not (tmp / f).is_file()]
        if missing:
            raise TinyModelError(f"save_pretrained wrote no {', '.join(missing)} in {tmp}")
        if outdir.exists():
            shutil.rmtree(outdir)
        tmp.rename(outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return outdir


def is_built(outdir: Path, size: Optional[str] = None) -> bool:
    """True when every file the loader needs is there (and, given ``size``, the encoder is that size's)."""
    if not all((Path(outdir) / f).is_file() for f in REQUIRED_FILES):
        return False
    if size is None:
        return True
    try:
        saved = json.loads((Path(outdir) / "encoder_config" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(saved.get(key) == value for key, value in encoder_signature(size).items())


def ensure(outdir: Path, size: str = "tiny") -> Path:
    """Build the model unless it is already there (idempotent, for make setup and fixtures)."""
    return Path(outdir) if is_built(outdir, size) else build(outdir, size=size)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.builders.gliner2_model",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="directory to write the model to")
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    parser.add_argument("--size", choices=sorted(ENCODERS), default="tiny",
                        help="tiny (a 2-layer BERT, functional checks) or bench (DeBERTa-v3-base's configuration, the "
                             "encoder GLiNER2 base is fine-tuned from: throughput)")
    args = parser.parse_args(argv)
    try:
        path = build(args.outdir, size=args.size) if args.force else ensure(args.outdir, args.size)
    except (OSError, TinyModelError) as exc:
        print(f"error: {args.size} model not built in {args.outdir}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.size} GLiNER2 model ready in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
