"""ONNX Runtime against PyTorch on the CPU: the exported graphs of the released models, timed in the same run on the same inputs.

    python benchmarks/onnx_speed.py                                   # every released model, one thread each
    python benchmarks/onnx_speed.py --models cvae-full-4mm vae-full-4mm --threads 2 --batch 1 8

For each model file (`runs/release/<name>/model.pt`) the graphs are exported to a temporary folder
(`sematlas.release.onnx.export_onnx`, which also checks them against PyTorch); then each graph runs on the same
random inputs in onnxruntime (CPUExecutionProvider) and in PyTorch (the module that was exported, under
`torch.inference_mode`, as `sematlas generate` runs it), alternating call by call, `--repeats` times after 3
warm-up calls each. Reported: the median milliseconds per call of each, and `speedup` = PyTorch / ONNX Runtime
(above 1: ONNX Runtime is faster). Both use `--threads` threads (default 1: the shared CI machine). Results print
as a table and go to `--out` (default benchmarks/results/onnx_speed.json, git-ignored).
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, tempfile, time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='*', default=None, help='released model names (default: all under runs/release)')
    ap.add_argument('--root', type=Path, default=Path(__file__).resolve().parents[1], help='project root holding runs/release')
    ap.add_argument('--batch', type=int, nargs='+', default=[1, 8], help='batch sizes of the generators (the encoders run at the first)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=20)
    ap.add_argument('--out', type=Path, default=Path('benchmarks/results/onnx_speed.json'))
    a = ap.parse_args()
    import sematlas.apps.inference                                    # noqa: F401 -- the apps' process settings, before torch
    import torch, onnxruntime as ort
    from sematlas.release.onnx import onnx_graphs, example_inputs, export_onnx, released_models
    from sematlas.training.checkpoint import load_network
    torch.set_num_threads(a.threads)
    opts = ort.SessionOptions(); opts.intra_op_num_threads = a.threads; opts.inter_op_num_threads = 1
    models = released_models(a.root)
    if a.models: models = {n: models[n] for n in a.models}
    rows, tmp = [], Path(tempfile.mkdtemp(prefix='onnx-speed-'))
    for name, path in models.items():
        export_onnx(path, tmp, name)
        net, _ = load_network(path)
        for graph, (module, inputs, _) in onnx_graphs(net).items():
            sess = ort.InferenceSession(str(tmp/name/f'{graph}.onnx'), opts, providers=['CPUExecutionProvider'])
            for n in (a.batch if graph != 'encoder' else a.batch[:1]):
                x = example_inputs(graph, net, n, seed=n)
                tx = [torch.from_numpy(x[k]) for k in inputs]
                def run_torch():
                    with torch.inference_mode(): module(*tx)
                run_onnx = lambda: sess.run(None, x)
                for _ in range(3): run_torch(); run_onnx()
                tt, to = [], []
                for _ in range(a.repeats):
                    t = time.perf_counter(); run_torch(); tt.append(time.perf_counter() - t)
                    t = time.perf_counter(); run_onnx(); to.append(time.perf_counter() - t)
                r = {'model': name, 'graph': graph, 'batch': n, 'torch_ms': 1e3*statistics.median(tt), 'onnxruntime_ms': 1e3*statistics.median(to)}
                r['speedup'] = r['torch_ms']/r['onnxruntime_ms']
                rows.append(r)
                print(f"{name:24s} {graph:21s} batch {n:2d}: PyTorch {r['torch_ms']:8.2f} ms, ONNX Runtime {r['onnxruntime_ms']:8.2f} ms, speedup {r['speedup']:.2f}", flush=True)
    result = {'cpu': f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)", 'threads': a.threads, 'repeats': a.repeats,
              'torch': torch.__version__, 'onnxruntime': ort.__version__, 'rows': rows}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
