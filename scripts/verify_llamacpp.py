#!/usr/bin/env python3
"""Load a (compact) GGUF written by `surgeon export` in llama.cpp and compute perplexity on the same
windows as Surgeon: the whole text tokenized once (no BOS), non-overlapping windows of SEQLEN tokens,
the first WINDOWS of them, ppl = exp(mean over windows of each window's mean CE over SEQLEN-1 predictions).

Needs llama-cpp-python (e.g. python3 -m venv /work/venv-llama && /work/venv-llama/bin/pip install llama-cpp-python numpy).
Usage: verify_llamacpp.py --gguf out/export-compact-F32.gguf --text ../shared/data/wikitext2/test.txt \
          [--windows 16] [--seqlen 2048] [--surgeon-ppl 23.1 | --report out/report.json] [--json]
Prints both perplexities (llama.cpp and Surgeon's, when given) and their relative difference.
Exit status 0; 2 when --max-rel-diff is given and exceeded.
"""
import argparse, json, math, sys, time

import numpy as np
from llama_cpp import Llama


def window_losses(llm, tokens, seqlen, windows):
    losses, seconds = [], 0.0
    for w in range(windows):
        win = tokens[w * seqlen:(w + 1) * seqlen]
        llm.reset()
        start = time.time()
        llm.eval(win)
        seconds += time.time() - start
        logits = np.asarray(llm.scores[:seqlen], dtype=np.float64)  # (T, V)
        m = logits.max(axis=1, keepdims=True)
        lse = (m[:, 0] + np.log(np.exp(logits - m).sum(axis=1)))
        tgt = np.asarray(win[1:])
        ce = lse[:-1] - logits[np.arange(seqlen - 1), tgt]
        losses.append(float(ce.mean()))
    return losses, seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--surgeon-ppl", type=float)
    ap.add_argument("--report", help="report.json whose exports hold Surgeon's compact perplexity")
    ap.add_argument("--max-rel-diff", type=float)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bos", action="store_true", help="the text starts with BOS (tokenizers that add one: Gemma)")
    a = ap.parse_args()

    llm = Llama(model_path=a.gguf, n_ctx=a.seqlen, n_batch=min(512, a.seqlen), n_ubatch=min(512, a.seqlen),
                logits_all=True, n_threads=a.threads, verbose=False)
    text = open(a.text, encoding="utf-8").read()
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=a.bos, special=False)
    windows = min(a.windows, len(tokens) // a.seqlen)
    losses, seconds = window_losses(llm, tokens, a.seqlen, windows)
    ppl = math.exp(sum(losses) / len(losses))

    surgeon = a.surgeon_ppl
    if surgeon is None and a.report:
        rep = json.load(open(a.report))
        for e in rep.get("exports", {}).values():
            if e.get("path", "").endswith(a.gguf.split("/")[-1]) and e.get("perplexity_compact"):
                surgeon = e["perplexity_compact"]
    out = {"gguf": a.gguf, "tokens": len(tokens), "windows": windows, "seqlen": a.seqlen,
           "perplexity_llamacpp": ppl, "perplexity_surgeon": surgeon,
           "rel_diff": (abs(ppl - surgeon) / surgeon if surgeon else None),
           "tokens_per_second_llamacpp": windows * a.seqlen / seconds, "window_losses": losses}
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"llama.cpp perplexity {ppl:.4f} ({windows} windows x {a.seqlen}, {len(tokens)} tokens), "
              f"{out['tokens_per_second_llamacpp']:.1f} tokens/s")
        if surgeon:
            print(f"Surgeon   perplexity {surgeon:.4f}  relative difference {out['rel_diff'] * 100:.4f} %")
    if a.max_rel_diff is not None and surgeon and out["rel_diff"] > a.max_rel_diff:
        sys.exit(2)


if __name__ == "__main__":
    main()
