#!/usr/bin/env python3
"""Quality over seeds: the defaults against word2vec.c's exact schemes.

    python3 bench/seeds.py [--store DIR] [--no-run] [--experiment bench/seeds.json]

Runs `bench/seeds.json` (a sweep: variant × seed 1–3, 5 epochs, 2 threads, en-corpus from
../shared; about 15 minutes on 2 cores), then prints, per seed and as means: analogy accuracy
(Google, 3CosAdd, 30k words), WordSim-353 Spearman, the final loss, the loss curve's roughness
(mean |step| between successive points of the 100-point curve after the first 10% of training)
and words/s; then the differences default − reference (the batched skip-gram with a replica per
extra thread against the per-pair kernel with every row shared, and against the batched kernel on
shared tables with hot output rows staged, the previous default; CBOW likewise) against the issue's bars (analogy within 0.5 point, WS-353 within 0.01, or
better). Exit code 1 if a bar is missed. The store defaults to
a fresh temporary directory (kept with --store DIR, which also makes reruns free).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIPE = REPO / ".build" / "release" / "w2v-pipe"
# (default, reference) variants of bench/seeds.json compared against the issue's bars.
COMPARISONS = [("batched", "pair"), ("cbow", "cbow-shared"), ("batched", "batched-shared"), ("cbow", "cbow-staged")]


def train_records(store):
    out = []
    for f in (Path(store) / "runs").glob("*.json"):
        try:
            d = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if d.get("type") == "train":
            out.append(d)
    return out


def roughness(curve):
    pts = [loss for frac, loss in curve if frac >= 0.1]
    steps = [abs(b - a) for a, b in zip(pts, pts[1:])]
    return statistics.mean(steps) if steps else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", help="artifact store (default: a new temporary one)")
    ap.add_argument("--experiment", default=str(REPO / "bench" / "seeds.json"))
    ap.add_argument("--no-run", action="store_true", help="only report what the store holds")
    args = ap.parse_args()
    store = args.store or tempfile.mkdtemp(prefix="w2v-seeds-")
    if not args.no_run:
        r = subprocess.run([str(PIPE), "run", args.experiment, "--store", store, "--progress", "none"])
        if r.returncode != 0:
            sys.exit(f"seeds: the sweep failed (exit {r.returncode})")
    cmp = subprocess.run([str(PIPE), "compare", args.experiment, "--store", store, "--json"],
                         capture_output=True, text=True, check=True)
    trials = json.loads(cmp.stdout)
    records = train_records(store)
    rows = []
    for t in trials:
        if not t.get("complete"):
            continue
        s, m = t["settings"], t["metrics"]
        variant = t["trial"].split()[0]
        # The train record of this trial: the same model, kernel, staging, seed and epochs (compare
        # prints settings as text: strings as they are, other values as JSON).
        def as_setting(v):
            return v if isinstance(v, str) else json.dumps(v)
        rec = [d for d in records
               if all(as_setting(d["parameters"].get(k)) == s.get(k, "null")
                      for k in ("model", "batched_negatives", "hot_rows", "replica_merge_words", "seed", "epochs"))]
        # The latest such record: a reused store may also hold runs of an earlier implementation.
        rec.sort(key=lambda d: d.get("startedAt", ""))
        curve = rec[-1]["metrics"].get("loss_curve", []) if rec else []
        rows.append({"variant": variant, "seed": int(s["seed"]), "analogy": m["analogy_total"],
                     "ws353": m["wordsim_spearman"], "loss": m["final_loss"], "rough": roughness(curve),
                     "wps": m["words_per_second"]})
    order = [v["name"] for v in json.loads(Path(args.experiment).read_text())["sweep"]["variants"]]
    rows.sort(key=lambda r: (order.index(r["variant"]) if r["variant"] in order else len(order), r["seed"]))

    def fmt(x, spec):
        return "—" if x is None else format(x, spec)
    print("| variant | seed | analogy | WS-353 | final loss | loss-curve roughness | words/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['variant']} | {r['seed']} | {100 * r['analogy']:.2f}% | {r['ws353']:.3f} | {r['loss']:.4f} | "
              f"{fmt(r['rough'], '.4f')} | {r['wps'] / 1e6:.2f}M |")
    means = {}
    for k in order:
        rs = [r for r in rows if r["variant"] == k]
        if rs:
            means[k] = {f: statistics.mean(r[f] for r in rs) for f in ("analogy", "ws353", "loss", "wps")}
            roughs = [r["rough"] for r in rs if r["rough"] is not None]
            means[k]["rough"] = statistics.mean(roughs) if roughs else None
            means[k]["n"] = len(rs)
            m = means[k]
            print(f"| **{k} mean** | {m['n']} seeds | {100 * m['analogy']:.2f}% | {m['ws353']:.3f} | {m['loss']:.4f} | "
                  f"{fmt(m['rough'], '.4f')} | {m['wps'] / 1e6:.2f}M |")
    ok = True
    compared = 0
    for new, ref in COMPARISONS:
        if new not in means or ref not in means:
            continue
        compared += 1
        da = 100 * (means[new]["analogy"] - means[ref]["analogy"])
        dw = means[new]["ws353"] - means[ref]["ws353"]
        ok = ok and da >= -0.5 and dw >= -0.01
        print(f"\n{new} − {ref}: analogy {da:+.2f} points (bar: ≥ −0.5), WS-353 {dw:+.3f} (bar: ≥ −0.01), "
              f"loss-curve roughness {fmt(means[new]['rough'], '.4f')} vs {fmt(means[ref]['rough'], '.4f')}; "
              f"speed ×{means[new]['wps'] / means[ref]['wps']:.2f} (while this sweep ran; not a benchmark)")
    if compared == 0:
        sys.exit("seeds: no comparison has finished trials on both sides")
    print("seeds: " + ("within the bars" if ok else "MISSED a bar"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
