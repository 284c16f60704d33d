"""PyTorch peer for `npm run bench`: builds a model, exports it to ONNX for Trainer to compile,
then runs train steps (AdamW, clipping at 1.0, Hugging Face semantics) on command, so that the
benchmark can interleave PyTorch and Trainer in one run.

Protocol (one JSON object per line, requests on stdin, answers on file descriptor 3 so that whatever
the exporters print to stdout cannot break it): the first line received is the setup
  {"model": "mlp" | "bert" | "distilbert-base" | "bert-base" | "resnet18", "batch": N, "onnx": PATH,
   "threads": T, ...sizes}
and is answered {"ready": true, "loss": first-step loss, "first_step_seconds": time from building
the model to the end of its first step (the export excluded)}. Then each {"steps": K} runs K train
steps and is answered {"seconds": wall time, "loss": last loss, "max_rss_kb": peak RSS}.
"""
import inspect
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for i in range(len(sizes) - 2):
            layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, features):
        return self.net(features)


class Layer(nn.Module):
    def __init__(self, h, heads, inter):
        super().__init__()
        self.heads = heads
        self.qkv = nn.ModuleList([nn.Linear(h, h) for _ in range(3)])
        self.out = nn.Linear(h, h)
        self.ln1 = nn.LayerNorm(h, eps=1e-12)
        self.up = nn.Linear(h, inter)
        self.down = nn.Linear(inter, h)
        self.ln2 = nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, mask):
        n, s, h = x.shape
        d = h // self.heads
        q, k, v = [m(x).view(n, s, self.heads, d).permute(0, 2, 1, 3) for m in self.qkv]
        scores = q @ k.transpose(-1, -2) / (d ** 0.5) + mask
        ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(n, s, h)
        x = self.ln1(x + self.out(ctx))
        return self.ln2(x + self.down(nn.functional.gelu(self.up(x))))


class Bert(nn.Module):
    def __init__(self, vocab, h, layers, heads, inter, max_len, labels):
        super().__init__()
        self.word = nn.Embedding(vocab, h)
        self.pos = nn.Embedding(max_len, h)
        self.token_type = nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList([Layer(h, heads, inter) for _ in range(layers)])
        self.pool = nn.Linear(h, h)
        self.classifier = nn.Linear(h, labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        s = input_ids.shape[1]
        pos = torch.arange(s).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(pos) + self.token_type(token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(torch.tanh(self.pool(x[:, 0])))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """torchvision's / timm's resnet18 layout (BasicBlock, [2, 2, 2, 2]), written out: neither is
    a dependency of the benchmark."""

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, pixel_values):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(pixel_values))), 3, 2, 1)
        return self.fc(self.blocks(x).mean((2, 3)))


class Logits(nn.Module):
    """A Hugging Face classifier whose forward returns the logits tensor (what the export keeps)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


# GPT-2 has no pad token; Hugging Face's recipes for its classifier pad with the end-of-text token.
GPT2_PAD = 50256


def hugging_face_classifier(cfg):
    """DistilBERT-base / BERT-base shapes from transformers (randomly initialised, dropout off so
    that both sides compute the same function). Debian's torch 1.13 has no transformers: the
    benchmark's own encoder of the same shape stands in."""
    try:
        import transformers
    except ImportError:
        if cfg.get("task") in ("fill-mask", "text-generation") or cfg["model"] in ("gpt2", "modernbert-base", "deberta-v3-base", "qwen2-0.5b", "bert-large"):
            raise SystemExit(f"the {cfg['key']} row needs transformers on the PyTorch side (BENCH_PYTHON)")
        layers = 6 if cfg["model"] == "distilbert-base" else 12
        return Bert(30522, 768, layers, 12, 3072, 512, 2), False
    if cfg["model"] == "gpt2":
        config = transformers.GPT2Config(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0, num_labels=2,
                                         pad_token_id=GPT2_PAD)
        if cfg.get("task") == "text-generation":
            # GPT-2 small as a causal LM: the LM head tied to the token embeddings scores every position.
            return Logits(transformers.GPT2LMHeadModel(config)), True
        # A decoder classifier: the score head reads each sequence's last token that is not the
        # pad token (Hugging Face's rule, traced into the export from input_ids).
        return Logits(transformers.GPT2ForSequenceClassification(config)), True
    if cfg["model"] == "qwen2-0.5b":
        # Qwen2.5-0.5B's config.json (24 layers, hidden 896, grouped-query attention with 2 key/value
        # heads, SwiGLU 4864, a 151936-token vocabulary whose embedding the LM head shares), as a
        # causal LM; its attention has no dropout.
        config = transformers.Qwen2Config(
            vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
            num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
            tie_word_embeddings=True, attention_dropout=0.0)
        return Logits(transformers.Qwen2ForCausalLM(config)), True
    if cfg["model"] == "modernbert-base":
        # ModernBERT-base's shape (22 layers, every third global attention, the others a 128-token
        # window; dropout is off by default); eager / SDPA attention on the CPU computes padding too.
        config = transformers.ModernBertConfig(num_labels=2)
        return Logits(transformers.ModernBertForSequenceClassification(config)), True
    if cfg["model"] == "deberta-v3-base":
        # DeBERTa-v3-base's config.json (disentangled attention over 256 relative-position buckets),
        # dropout off.
        config = transformers.DebertaV2Config(
            vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
            max_position_embeddings=512, relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm",
            share_att_key=True, pos_att_type=["p2c", "c2p"], layer_norm_eps=1e-7, max_relative_positions=-1,
            position_biased_input=False, type_vocab_size=0, pooler_hidden_size=768, pooler_dropout=0.0,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
        return Logits(transformers.DebertaV2ForSequenceClassification(config)), True
    if cfg["model"] == "distilbert-base":
        config = transformers.DistilBertConfig(dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0, num_labels=2)
        return Logits(transformers.DistilBertForSequenceClassification(config)), True
    if cfg["model"] == "bert-large":
        # BERT-large's shape (24 layers, hidden 1024, 16 heads, ffn 4096), dropout off.
        config = transformers.BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                                         hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
        return Logits(transformers.BertForSequenceClassification(config)), True
    config = transformers.BertConfig(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
    if cfg.get("task") == "fill-mask":
        # Hugging Face's masked LM scores every position over the vocabulary (the decoder tied to
        # the word embeddings); the loss ignores the positions labelled -100.
        return Logits(transformers.BertForMaskedLM(config)), True
    return Logits(transformers.BertForSequenceClassification(config)), True


def build(cfg):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    b = cfg["batch"]
    if cfg["model"] == "mlp":
        sizes = cfg["sizes"]
        model = MLP(sizes)
        inputs = (torch.rand(b, sizes[0], generator=g),)
        labels = torch.randint(0, sizes[-1], (b,), generator=g)
        names, axes = ["features"], {"features": {0: "batch"}}
    elif cfg["model"] == "resnet18":
        model = ResNet18(10)
        size = cfg["image"]
        inputs = (torch.rand(b, 3, size, size, generator=g),)
        labels = torch.randint(0, 10, (b,), generator=g)
        names, axes = ["pixel_values"], {"pixel_values": {0: "batch"}}
    elif cfg["model"] in ("distilbert-base", "bert-base", "bert-large", "gpt2", "modernbert-base", "deberta-v3-base", "qwen2-0.5b"):
        model, hf = hugging_face_classifier(cfg)
        seq = cfg["seq"]
        # Token ids below each vocabulary's special ones (ModernBERT's start at 50280).
        vocab = {"gpt2": 50257, "modernbert-base": 50280, "deberta-v3-base": 128000, "qwen2-0.5b": 151643}.get(cfg["model"], 30522)
        ids = torch.randint(0, vocab, (b, seq), generator=g)
        mask = torch.ones(b, seq, dtype=torch.int64)
        mask[:, seq * 3 // 4:] = 0
        if cfg["model"] == "gpt2" and cfg.get("task") is None:
            # The classifier finds each sequence's end by its pad token: padding is that token, and
            # no real token is.
            ids = torch.where(mask == 1, ids.clamp(max=GPT2_PAD - 1), torch.full_like(ids, GPT2_PAD))
        inputs = (ids, mask) if hf else (ids, mask, torch.zeros(b, seq, dtype=torch.int64))
        labels = torch.randint(0, 2, (b,), generator=g)
        if cfg.get("task") == "fill-mask":
            # DataCollatorForLanguageModeling's share: 15% of the real tokens carry a label.
            chosen = (torch.rand(b, seq, generator=g) < 0.15) & (mask == 1)
            labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        if cfg.get("task") == "text-generation":
            # Every real token is a target; padding is labelled -100, as DataCollatorForLanguageModeling(mlm=False) does.
            labels = torch.where(mask == 1, ids, torch.full_like(ids, -100))
        names = ["input_ids", "attention_mask"] + ([] if hf else ["token_type_ids"])
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
    else:
        model = Bert(cfg["vocab"], cfg["hidden"], cfg["layers"], cfg["heads"], cfg["intermediate"], cfg["seq"], 2)
        ids = torch.randint(0, cfg["vocab"], (b, cfg["seq"]), generator=g)
        mask = torch.ones(b, cfg["seq"], dtype=torch.int64)
        mask[:, cfg["seq"] * 3 // 4:] = 0
        types = torch.zeros(b, cfg["seq"], dtype=torch.int64)
        inputs = (ids, mask, types)
        labels = torch.randint(0, 2, (b,), generator=g)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
    # The batch goes beside the ONNX file, so that Trainer trains on the very same tensors.
    with open(cfg["onnx"] + ".batch.json", "w") as f:
        json.dump({"inputs": {n: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "data": t.flatten().tolist()}
                              for n, t in zip(names, inputs)},
                   "labels": labels.flatten().tolist(), "labels_shape": list(labels.shape)}, f)
    # PyTorch 2.9+ defaults to the dynamo exporter; this benchmark's graphs come from TorchScript's
    # (as optimum's do). Debian's 1.13 has only that one and no `dynamo` argument.
    explicit = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    # A CNN is exported with training-mode BatchNormalization (batch statistics), as the README's
    # "Bring your own model" says; the exporter then needs constant folding off.
    cnn = cfg["model"] == "resnet18"
    mode = {"training": torch.onnx.TrainingMode.TRAINING} if cnn else {}
    export_start = time.perf_counter()
    torch.onnx.export(model, inputs, cfg["onnx"], input_names=names, output_names=["logits"],
                      dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=17, do_constant_folding=not cnn,
                      **explicit, **mode)
    return model, inputs, labels, time.perf_counter() - export_start


def torch_threads(threads):
    """PyTorch at its best with `threads` cores. Debian's build does its matrix products in
    OpenBLAS, whose own threads (OPENBLAS_NUM_THREADS, set by the coordinator) beat PyTorch's
    intra-op threads on top of them: one PyTorch thread was fastest. The wheels from pytorch.org
    (MKL and oneDNN) want PyTorch's threads."""
    return 1 if "openblas" in torch.__config__.show().lower() else threads


def channels_last(cnn):
    """PyTorch at its best on a CNN: channels-last tensors (the model's weights and the images),
    which oneDNN's convolution, batch-norm and pooling kernels prefer on the CPU — PyTorch's own
    advice for CNNs there. ResNet-18 at batch 32, 2 threads, PyTorch 2.13 here: 224² step 1188–1199
    ms channels-last against 1450–1703 contiguous (NCHW); 64² even (160–212 either way).
    BENCH_TORCH_NCHW=1 keeps NCHW, for comparison."""
    return cnn and os.environ.get("BENCH_TORCH_NCHW") != "1"


PROTOCOL = os.fdopen(3, "w")


def answer(value):
    """Writes one answer on fd 3: exporters and libraries may print to stdout."""
    PROTOCOL.write(json.dumps(value) + "\n")
    PROTOCOL.flush()


def main():
    cfg = json.loads(sys.stdin.readline())
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.set_num_threads(torch_threads(cfg["threads"]))
    started = time.perf_counter()
    model, inputs, labels, export_seconds = build(cfg)
    model.train()
    memory_format = "channels_last" if channels_last(cfg["model"] == "resnet18") else "contiguous"
    if memory_format == "channels_last":
        # After the export, which traces the model as it was built: the same function either way.
        model = model.to(memory_format=torch.channels_last)
        inputs = tuple(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in inputs)
    if cfg.get("torch_recompute"):
        # Hugging Face's activation checkpointing (per layer), for the row comparing it with
        # Trainer's gradient_checkpointing. Enabled after the export, which traces the plain model.
        model.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        logits = model(*inputs)
        if cfg.get("task") == "text-generation":
            # Position t predicts token t + 1 (Hugging Face's ForCausalLMLoss).
            loss = loss_fn(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))
        else:
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    first = step()
    answer({"ready": True, "loss": first, "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "memory_format": memory_format, "params": sum(p.numel() for p in model.parameters()),
            "start_rss_kb": start_rss, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "first_step_seconds": time.perf_counter() - started - export_seconds})
    for line in sys.stdin:
        k = json.loads(line)["steps"]
        t = time.perf_counter()
        for _ in range(k):
            last = step()
        answer({"seconds": time.perf_counter() - t, "loss": last,
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


if __name__ == "__main__":
    main()
