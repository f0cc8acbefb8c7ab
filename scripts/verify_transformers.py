#!/usr/bin/env python3
"""Load a Hugging Face directory written by Surgeon (e.g. the `--uniform` compact export) with
`transformers.AutoModelForCausalLM.from_pretrained` — no custom code — and compute perplexity on the same
windows as Surgeon: the whole text tokenized once (no BOS), non-overlapping windows of SEQLEN tokens, the
first WINDOWS of them, ppl = exp(mean over windows of each window's mean CE over SEQLEN-1 predictions).

Needs torch + transformers (e.g. /work/venv-ref); never needed by CI.
Usage: verify_transformers.py --model out/export-compact-hf --text ../shared/data/wikitext2/test.txt \
          [--tokenizer DIR] [--windows 16] [--seqlen 2048] [--surgeon-ppl X | --report out/report.json] [--json]
Prints both perplexities and their relative difference; exit status 2 when --max-rel-diff is exceeded.
"""
import argparse, json, math, os, sys, time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", help="directory with tokenizer.json, or the source .gguf (default: --model). "
                    "Surgeon evaluates a GGUF-sourced run with the ids Hugging Face's GGUF tokenizer gives; the "
                    "exported tokenizer.json follows llama.cpp's split, which differs on a few whitespace runs")
    ap.add_argument("--text", required=True)
    ap.add_argument("--windows", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--surgeon-ppl", type=float)
    ap.add_argument("--report", help="report.json whose exports hold Surgeon's compact perplexity")
    ap.add_argument("--max-rel-diff", type=float)
    ap.add_argument("--bos", action="store_true", help="the text starts with BOS (tokenizers that add one: Gemma)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=torch.float32)
    model.eval()
    if a.tokenizer and a.tokenizer.endswith(".gguf"):
        # The tokenizer Hugging Face builds from the GGUF: the ids Surgeon evaluates a GGUF model on.
        tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(a.tokenizer)),
                                            gguf_file=os.path.basename(a.tokenizer))
    else:
        tok = AutoTokenizer.from_pretrained(a.tokenizer or a.model)
    text = open(a.text, encoding="utf-8").read()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    if a.bos:
        ids = [tok.bos_token_id] + ids
    windows = min(a.windows, len(ids) // a.seqlen)
    losses, start = [], time.time()
    with torch.no_grad():
        for w in range(windows):
            x = torch.tensor([ids[w * a.seqlen:(w + 1) * a.seqlen]])
            logits = model(x).logits.double()[0]
            ce = torch.nn.functional.cross_entropy(logits[:-1], x[0, 1:], reduction="mean")
            losses.append(float(ce))
    seconds = time.time() - start
    ppl = math.exp(sum(losses) / len(losses))

    surgeon = a.surgeon_ppl
    if surgeon is None and a.report:
        rep = json.load(open(a.report))
        name = a.model.rstrip("/").split("/")[-1]
        for e in rep.get("exports", {}).values():
            if e.get("path", "").rstrip("/").endswith(name) and e.get("perplexity_compact"):
                surgeon = e["perplexity_compact"]
    cfg = model.config
    out = {"model": a.model, "tokens": len(ids), "windows": windows, "seqlen": a.seqlen,
           "intermediate_size": cfg.intermediate_size, "num_attention_heads": cfg.num_attention_heads,
           "num_key_value_heads": cfg.num_key_value_heads,
           "parameters": sum(p.numel() for p in model.parameters()),
           "perplexity_transformers": ppl, "perplexity_surgeon": surgeon,
           "rel_diff": (abs(ppl - surgeon) / surgeon if surgeon else None),
           "tokens_per_second_transformers": windows * a.seqlen / seconds, "window_losses": losses}
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"transformers: {out['parameters']} parameters, intermediate_size {cfg.intermediate_size}, "
              f"heads {cfg.num_attention_heads}/{cfg.num_key_value_heads}")
        print(f"transformers perplexity {ppl:.4f} ({windows} windows x {a.seqlen}, {len(ids)} tokens), "
              f"{out['tokens_per_second_transformers']:.1f} tokens/s")
        if surgeon:
            print(f"Surgeon      perplexity {surgeon:.4f}  relative difference {out['rel_diff'] * 100:.4f} %")
    if a.max_rel_diff is not None and surgeon and out["rel_diff"] > a.max_rel_diff:
        sys.exit(2)


if __name__ == "__main__":
    main()
