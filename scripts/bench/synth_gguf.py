#!/usr/bin/env python3
"""Synthetic Llama-architecture GGUF v3 files for memory / time benchmarks (never for quality).

Real model dimensions, random weights (normal, std 0.02; norm weights 1.0), the tokenizer metadata
(every `tokenizer.*` key, nothing else) copied from a donor GGUF. Matrices are F16 (ggml type 1) by
default or F32 (type 0); norms are always F32. Tensor data is generated and written streaming, a
chunk of rows at a time, so memory stays small even for the ~13.5 GB llama2-7b file.

    python3 scripts/bench/synth_gguf.py --shape tinyllama|llama2-7b|smollm2 [--blocks N] \
        [--dtype f16|f32] [--donor PATH] [--seed S] --out FILE

q/k weights in llama.cpp's GGUF are stored RoPE-permuted (the pruner un-permutes `llama` files);
for random weights that changes nothing, only the shapes matter. GGUF dims are fastest-varying
first: a PyTorch (out, in) matrix has dims [in, out].

Dependencies: Python 3 and numpy only.
"""

import argparse
import os
import shutil
import struct
import sys
import time

import numpy as np

# ----------------------------------------------------------------------------------------------
# Shapes

SHAPES = {
    # hidden, ffn, blocks, heads, kv heads, head_dim, rope theta, ctx, eps, tied embeddings
    "tinyllama": dict(hidden=2048, ffn=5632, blocks=22, heads=32, kv_heads=4, head_dim=64,
                      rope_theta=10000.0, ctx=2048, eps=1e-5, tied=False,
                      name="TinyLlama-1.1B (synthetic)"),
    "llama2-7b": dict(hidden=4096, ffn=11008, blocks=32, heads=32, kv_heads=32, head_dim=128,
                      rope_theta=10000.0, ctx=4096, eps=1e-5, tied=False,
                      name="Llama-2-7B (synthetic)"),
    "smollm2": dict(hidden=576, ffn=1536, blocks=30, heads=9, kv_heads=3, head_dim=64,
                    rope_theta=100000.0, ctx=8192, eps=1e-5, tied=True,
                    name="SmolLM2-135M (synthetic)"),
}

DEFAULT_DONOR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# GGUF metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)
SCALAR_FMT = {
    T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I", T_INT32: "<i",
    T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q", T_FLOAT64: "<d",
}

# ggml tensor types used here.
GGML_F32, GGML_F16 = 0, 1
GGML_BYTES = {GGML_F32: 4, GGML_F16: 2}
NP_DTYPE = {GGML_F32: np.dtype("<f4"), GGML_F16: np.dtype("<f2")}


# ----------------------------------------------------------------------------------------------
# GGUF metadata reader (KV section only)

class GGUFFormatError(Exception):
    pass


class _Reader:
    """Sequential little-endian reader over a buffered file."""

    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, n, what):
        b = self.f.read(n)
        if len(b) != n:
            raise GGUFFormatError(f"{self.path}: truncated while reading {what}")
        return b

    def scalar(self, t, what):
        fmt = SCALAR_FMT[t]
        v = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]
        if t == T_BOOL and v not in (False, True):
            raise GGUFFormatError(f"{self.path}: bad bool in {what}")
        return v

    def string(self, what):
        n = self.scalar(T_UINT64, f"length of {what}")
        if n > 1 << 30:
            raise GGUFFormatError(f"{self.path}: implausible string length {n} in {what}")
        return self.take(n, what).decode("utf-8")

    def value(self, t, key, depth=0):
        if t in SCALAR_FMT:
            return self.scalar(t, key)
        if t == T_STRING:
            return self.string(key)
        if t == T_ARRAY:
            if depth >= 8:
                raise GGUFFormatError(f"{self.path}: {key}: arrays nested too deeply")
            et = self.scalar(T_UINT32, f"array type of {key}")
            n = self.scalar(T_UINT64, f"array length of {key}")
            if n > 1 << 28:
                raise GGUFFormatError(f"{self.path}: {key}: implausible array length {n}")
            if et in SCALAR_FMT and et != T_BOOL:
                fmt = SCALAR_FMT[et]
                size = struct.calcsize(fmt)
                raw = self.take(size * n, key)
                return (et, list(struct.unpack(f"<{n}{fmt[1]}", raw)))
            return (et, [self.value(et, key, depth + 1) for _ in range(n)])
        raise GGUFFormatError(f"{self.path}: {key} has unknown value type {t}")


def read_gguf_metadata(path):
    """Returns (version, n_tensors, [(key, type, value)]) of a GGUF v2/v3 file.

    Array values are (element_type, [items]); nested arrays nest the same way."""
    with open(path, "rb") as f:
        r = _Reader(f, path)
        if r.take(4, "magic") != GGUF_MAGIC:
            raise GGUFFormatError(f"{path}: not a GGUF file (bad magic)")
        version = r.scalar(T_UINT32, "version")
        if version not in (2, 3):
            raise GGUFFormatError(f"{path}: unsupported GGUF version {version}")
        n_tensors = r.scalar(T_UINT64, "tensor count")
        n_kv = r.scalar(T_UINT64, "metadata count")
        kvs = []
        for i in range(n_kv):
            key = r.string(f"metadata key #{i}")
            t = r.scalar(T_UINT32, f"type of {key}")
            kvs.append((key, t, r.value(t, key)))
        return version, n_tensors, kvs


# ----------------------------------------------------------------------------------------------
# GGUF writer

def _enc_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _enc_value(t, v):
    if t in SCALAR_FMT:
        return struct.pack(SCALAR_FMT[t], v)
    if t == T_STRING:
        return _enc_string(v)
    if t == T_ARRAY:
        et, items = v
        head = struct.pack("<IQ", et, len(items))
        if et in SCALAR_FMT and et != T_BOOL:
            return head + struct.pack(f"<{len(items)}{SCALAR_FMT[et][1]}", *items)
        return head + b"".join(_enc_value(et, x) for x in items)
    raise ValueError(f"unknown GGUF value type {t}")


def encode_kv(key, t, v):
    return _enc_string(key) + struct.pack("<I", t) + _enc_value(t, v)


def align_up(n, a=ALIGNMENT):
    return (n + a - 1) // a * a


# ----------------------------------------------------------------------------------------------
# Model description

def tensor_plan(cfg, vocab, mat_type):
    """[(gguf name, dims fastest-varying first, ggml type, fill)] in llama.cpp's usual order."""
    h, f, hd = cfg["hidden"], cfg["ffn"], cfg["head_dim"]
    q, kv = cfg["heads"] * hd, cfg["kv_heads"] * hd
    plan = [("token_embd.weight", [h, vocab], mat_type, "normal"),
            ("output_norm.weight", [h], GGML_F32, "ones")]
    if not cfg["tied"]:
        plan.append(("output.weight", [h, vocab], mat_type, "normal"))
    for i in range(cfg["blocks"]):
        p = f"blk.{i}."
        plan += [
            (p + "attn_norm.weight", [h], GGML_F32, "ones"),
            (p + "attn_q.weight", [h, q], mat_type, "normal"),        # HF (heads*hd, hidden)
            (p + "attn_k.weight", [h, kv], mat_type, "normal"),       # HF (kv*hd, hidden)
            (p + "attn_v.weight", [h, kv], mat_type, "normal"),
            (p + "attn_output.weight", [q, h], mat_type, "normal"),   # HF (hidden, heads*hd)
            (p + "ffn_norm.weight", [h], GGML_F32, "ones"),
            (p + "ffn_gate.weight", [h, f], mat_type, "normal"),      # HF (ffn, hidden)
            (p + "ffn_up.weight", [h, f], mat_type, "normal"),
            (p + "ffn_down.weight", [f, h], mat_type, "normal"),      # HF (hidden, ffn)
        ]
    return plan


def model_metadata(cfg, shape, vocab, mat_type, donor_kvs):
    a = "llama"
    kvs = [
        ("general.architecture", T_STRING, a),
        ("general.name", T_STRING, cfg["name"]),
        ("general.alignment", T_UINT32, ALIGNMENT),
        ("general.file_type", T_UINT32, 1 if mat_type == GGML_F16 else 0),  # MOSTLY_F16 / ALL_F32
        (f"{a}.context_length", T_UINT32, cfg["ctx"]),
        (f"{a}.embedding_length", T_UINT32, cfg["hidden"]),
        (f"{a}.block_count", T_UINT32, cfg["blocks"]),
        (f"{a}.feed_forward_length", T_UINT32, cfg["ffn"]),
        (f"{a}.attention.head_count", T_UINT32, cfg["heads"]),
        (f"{a}.attention.head_count_kv", T_UINT32, cfg["kv_heads"]),
        (f"{a}.attention.key_length", T_UINT32, cfg["head_dim"]),
        (f"{a}.attention.value_length", T_UINT32, cfg["head_dim"]),
        (f"{a}.rope.freq_base", T_FLOAT32, cfg["rope_theta"]),
        (f"{a}.rope.dimension_count", T_UINT32, cfg["head_dim"]),
        (f"{a}.attention.layer_norm_rms_epsilon", T_FLOAT32, cfg["eps"]),
        (f"{a}.vocab_size", T_UINT32, vocab),
    ]
    kvs += [kv for kv in donor_kvs if kv[0].startswith("tokenizer.")]
    return kvs


# ----------------------------------------------------------------------------------------------
# Main

def human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--blocks", type=int, help="override the block (layer) count")
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16", help="storage of the matrices (default f16)")
    ap.add_argument("--donor", default=DEFAULT_DONOR, help=f"GGUF to copy tokenizer.* metadata from (default {DEFAULT_DONOR})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="output .gguf path")
    args = ap.parse_args(argv)

    cfg = dict(SHAPES[args.shape])
    if args.blocks is not None:
        if args.blocks < 1:
            ap.error("--blocks must be >= 1")
        cfg["blocks"] = args.blocks
    mat_type = GGML_F16 if args.dtype == "f16" else GGML_F32

    # Donor tokenizer.
    try:
        _, _, donor = read_gguf_metadata(args.donor)
    except (OSError, GGUFFormatError, UnicodeDecodeError) as e:
        sys.exit(f"error: cannot read donor {args.donor}: {e}")
    donor = [kv for kv in donor if kv[0].startswith("tokenizer.")]
    tokens = next((v for k, t, v in donor if k == "tokenizer.ggml.tokens"), None)
    if tokens is None or not isinstance(tokens, tuple) or tokens[0] != T_STRING:
        sys.exit(f"error: donor {args.donor} has no tokenizer.ggml.tokens string array")
    vocab = len(tokens[1])

    # Header (metadata + tensor table) and data layout, computed before anything is written.
    kvs = model_metadata(cfg, args.shape, vocab, mat_type, donor)
    plan = tensor_plan(cfg, vocab, mat_type)
    head = bytearray(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(plan), len(kvs)))
    for k, t, v in kvs:
        head += encode_kv(k, t, v)
    offsets, off = [], 0
    for name, dims, typ, _ in plan:
        n = 1
        for d in dims:
            n *= d
        off = align_up(off)
        offsets.append((off, n))
        head += _enc_string(name) + struct.pack("<I", len(dims))
        head += b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", typ, off)
        off += n * GGML_BYTES[typ]
    data_size = align_up(off)
    data_start = align_up(len(head))
    head += b"\0" * (data_start - len(head))
    total = data_start + data_size
    params = sum(n for _, n in offsets)

    # Disk space (the file is written next to --out, then renamed over it).
    out = os.path.abspath(args.out)
    out_dir = os.path.dirname(out)
    if not os.path.isdir(out_dir):
        sys.exit(f"error: output directory {out_dir} does not exist")
    free = shutil.disk_usage(out_dir).free
    margin = 256 << 20
    if free < total + margin:
        sys.exit(f"error: not enough disk space in {out_dir}: need {human(total)} (+{human(margin)} margin), "
                 f"{human(free)} free")

    print(f"{args.shape}: hidden {cfg['hidden']}, ffn {cfg['ffn']}, blocks {cfg['blocks']}, heads {cfg['heads']}/"
          f"{cfg['kv_heads']} kv, head_dim {cfg['head_dim']}, vocab {vocab}, "
          f"{'tied' if cfg['tied'] else 'untied'} output, {args.dtype}; {len(plan)} tensors, "
          f"{len(kvs)} metadata keys ({len(donor)} tokenizer.* from {args.donor})", flush=True)
    print(f"writing {human(total)} to {out}", flush=True)

    rng = np.random.default_rng(args.seed)
    chunk_elems = 1 << 22  # 4M elements per chunk (16 MiB as f32)
    tmp = out + ".tmp"
    t0 = last = time.time()
    try:
        with open(tmp, "wb", buffering=0) as f:
            f.write(head)
            pos = 0
            for (name, dims, typ, fill), (toff, n) in zip(plan, offsets):
                if pos < toff:
                    f.write(b"\0" * (toff - pos))
                    pos = toff
                cols = dims[0]
                rows = n // cols
                step = max(1, chunk_elems // cols)
                dt = NP_DTYPE[typ]
                for r0 in range(0, rows, step):
                    m = min(step, rows - r0) * cols
                    if fill == "ones":
                        x = np.ones(m, dtype=dt)
                    else:
                        x = rng.standard_normal(m, dtype=np.float32)
                        x *= np.float32(0.02)
                        x = x.astype(dt, copy=False)
                    f.write(memoryview(x).cast("B"))
                    pos += x.nbytes
                    if time.time() - last >= 10:
                        last = time.time()
                        done = data_start + pos
                        print(f"  {done / total * 100:5.1f}%  {human(done)} / {human(total)}  ({name})",
                              file=sys.stderr, flush=True)
            if pos < data_size:
                f.write(b"\0" * (data_size - pos))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    size = os.path.getsize(out)
    if size != total:
        sys.exit(f"error: wrote {size} bytes, expected {total}")
    dt = time.time() - t0
    print(f"parameters: {params} ({params / 1e9:.3f} B)")
    print(f"file size:  {size} bytes ({human(size)}) in {dt:.1f} s ({size / max(dt, 1e-9) / 1e6:.0f} MB/s)")


if __name__ == "__main__":
    main()
