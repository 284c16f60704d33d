"""PyTorch peer for `npm run bench`: builds a model, exports it to ONNX for Trainer to compile,
then runs train steps (AdamW, clipping at 1.0, Hugging Face semantics) on command, so that the
benchmark can interleave PyTorch and Trainer in one run.

Protocol (one JSON object per line, requests on stdin, answers on file descriptor 3 so that whatever
the exporters print to stdout cannot break it): the first line received is the setup
  {"model": "mlp" | "bert", "batch": N, "onnx": PATH, "threads": T, ...sizes}
and is answered {"ready": true, "loss": first-step loss}. Then each {"steps": K} runs K train
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
                   "labels": labels.tolist()}, f)
    # PyTorch 2.9+ defaults to the dynamo exporter; this benchmark's graphs come from TorchScript's
    # (as optimum's do). Debian's 1.13 has only that one and no `dynamo` argument.
    explicit = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, inputs, cfg["onnx"], input_names=names, output_names=["logits"],
                      dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=17, do_constant_folding=True, **explicit)
    return model, inputs, labels


PROTOCOL = os.fdopen(3, "w")


def answer(value):
    """Writes one answer on fd 3: exporters and libraries may print to stdout."""
    PROTOCOL.write(json.dumps(value) + "\n")
    PROTOCOL.flush()


def main():
    cfg = json.loads(sys.stdin.readline())
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.set_num_threads(cfg.get("threads", 1))
    model, inputs, labels = build(cfg)
    model.train()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}], lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(*inputs), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    first = step()
    answer({"ready": True, "loss": first, "params": sum(p.numel() for p in model.parameters()),
            "start_rss_kb": start_rss})
    for line in sys.stdin:
        k = json.loads(line)["steps"]
        t = time.perf_counter()
        for _ in range(k):
            last = step()
        answer({"seconds": time.perf_counter() - t, "loss": last,
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})


if __name__ == "__main__":
    main()
