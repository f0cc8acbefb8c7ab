#!/usr/bin/env python3
"""PyTorch/transformers reference figures for SmolLM2 (fp32, 2 threads), for the benchmarks.

Usage (in a virtual environment outside the repository with torch + transformers + gguf):
    python scripts/bench/torch_reference.py ppl   --windows 3      # dense WikiText-2 perplexity
    python scripts/bench/torch_reference.py forward  --windows 2   # forward tokens/s at seqlen 2048
    python scripts/bench/torch_reference.py backward --samples 4   # forward+backward tokens/s at 512
Prints one JSON line.
"""
import argparse, json, math, os, sys, time
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TEST = os.path.join(ROOT, "..", "shared", "data", "wikitext2", "test.txt")


def load():
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    tok = AutoTokenizer.from_pretrained(os.path.join(ROOT, "models"), gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(ROOT, "models"), gguf_file=GGUF, torch_dtype=torch.float32)
    model.eval()
    return tok, model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["ppl", "forward", "backward"])
    ap.add_argument("--windows", type=int, default=0)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--samples", type=int, default=4)
    a = ap.parse_args()
    tok, model = load()
    text = open(TEST, encoding="utf-8").read()
    ids = torch.tensor(tok(text, add_special_tokens=False)["input_ids"]).unsqueeze(0)
    if a.what == "ppl":
        n = ids.shape[1] // a.seqlen
        if a.windows:
            n = min(n, a.windows)
        nll, t0 = 0.0, time.time()
        with torch.no_grad():
            for i in range(n):
                x = ids[:, i * a.seqlen:(i + 1) * a.seqlen]
                loss = model(x, labels=x).loss.item()
                nll += loss
                print(f"window {i + 1}/{n} loss {loss:.4f}", file=sys.stderr)
        print(json.dumps({"tool": "transformers", "perplexity": math.exp(nll / n), "windows": n,
                          "seqlen": a.seqlen, "tokens": int(ids.shape[1]), "seconds": time.time() - t0}))
    elif a.what == "forward":
        n = a.windows or 2
        with torch.no_grad():
            model(ids[:, :a.seqlen])  # warm-up
            t0 = time.time()
            for i in range(n):
                model(ids[:, i * a.seqlen:(i + 1) * a.seqlen])
            dt = time.time() - t0
        print(json.dumps({"tool": "pytorch", "what": "forward", "seqlen": a.seqlen, "windows": n,
                          "seconds_per_window": dt / n, "tokens_per_second": n * a.seqlen / dt}))
    else:
        seqlen = 512
        x = ids[:, :seqlen]
        model(x, labels=x).loss.backward()  # warm-up
        t0 = time.time()
        for i in range(a.samples):
            x = ids[:, i * seqlen:(i + 1) * seqlen]
            model.zero_grad(set_to_none=True)
            model(x, labels=x).loss.backward()
        dt = time.time() - t0
        print(json.dumps({"tool": "pytorch", "what": "forward+backward", "seqlen": seqlen, "samples": a.samples,
                          "tokens_per_second": a.samples * seqlen / dt}))


if __name__ == "__main__":
    main()
