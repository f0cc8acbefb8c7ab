#!/usr/bin/env python3
"""Forward speed of two GGUFs in llama.cpp (e.g. a masked export and its compact twin), timed alternately
over the same windows so that a machine whose speed drifts slows both alike. Every window is a prompt
evaluation with logits for all rows, as in Surgeon's forward.

Needs llama-cpp-python (python3 -m venv /work/venv-llama && /work/venv-llama/bin/pip install llama-cpp-python numpy).
Usage: bench_llamacpp.py --gguf A.gguf --compare B.gguf --text ../shared/data/wikitext2/test.txt
          [--seqlen 512] [--windows 4] [--reps 5] [--threads 2]
Prints one JSON line: tokens/s of each (best window), the median of the per-window time ratios A/B.
"""
import argparse, json, time

from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--compare", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    def load(path):
        return Llama(model_path=path, n_ctx=a.seqlen, n_batch=a.seqlen, n_ubatch=a.seqlen,
                     logits_all=True, n_threads=a.threads, verbose=False)

    models = [load(a.gguf), load(a.compare)]
    tokens = models[0].tokenize(open(a.text, encoding="utf-8").read().encode("utf-8"), add_bos=False, special=False)
    wins = [tokens[w * a.seqlen:(w + 1) * a.seqlen] for w in range(a.windows)]

    def timed(llm, win):
        llm.reset()
        start = time.perf_counter()
        llm.eval(win)
        return time.perf_counter() - start

    for m in models:
        timed(m, wins[0])  # warm-up
    best, ratios = [float("inf")] * 2, []
    for _ in range(a.reps):
        for win in wins:
            t = [timed(m, win) for m in models]
            best = [min(b, x) for b, x in zip(best, t)]
            ratios.append(t[0] / t[1])
    ratios.sort()
    print(json.dumps({"tool": "llama.cpp", "seqlen": a.seqlen, "windows": a.windows, "reps": a.reps, "threads": a.threads,
                      "tokens_per_second": a.seqlen / best[0], "tokens_per_second_compare": a.seqlen / best[1],
                      "speedup_best": best[0] / best[1], "speedup_median_pair": ratios[len(ratios) // 2],
                      "speedup_pair_quartiles": [ratios[len(ratios) // 4], ratios[3 * len(ratios) // 4]]}))


if __name__ == "__main__":
    main()
