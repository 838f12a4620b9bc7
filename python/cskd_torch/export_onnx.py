"""`python -m cskd_torch.export_onnx CKPT OUT.onnx`: the model of a cskd checkpoint as ONNX for
other runtimes (torch.onnx.export; needs the `onnx` and `onnxscript` packages). Input `images`
(N, 3, 32, 32) float32, normalised with the paper's mean/std (cskd_torch.data.MEAN, STD); output
`logits` (N, classes). Batch norm uses the running statistics (eval mode)."""

import argparse

import torch

from . import checkpoint


def export(ckpt, out):
    net = checkpoint.read(ckpt).build().eval()
    batch = torch.export.Dim("batch")
    torch.onnx.export(net, (torch.zeros(2, 3, 32, 32),), str(out), input_names=["images"],
                      output_names=["logits"], dynamic_shapes={"x": {0: batch}}, verbose=False)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="cskd_torch.export_onnx", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="cskd checkpoint (.safetensors)")
    p.add_argument("out", help="output .onnx file")
    a = p.parse_args(argv)
    try:
        export(a.checkpoint, a.out)
    except (ValueError, OSError) as e:
        raise SystemExit(f"error: {e}")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
