import warp as wp
import numpy as np
wp.config.quiet = True

@wp.kernel
def inplace(x: wp.array(dtype=float), out: wp.array(dtype=wp.vec3)):
    i = wp.tid()
    v = wp.vec3(x[i], 2.0 * x[i], 0.5)
    s = wp.length(v)
    v[0] -= s
    out[i] = v + wp.vec3(s)

def adjoint(xv, seed):
    x = wp.array([xv], dtype=float, requires_grad=True)
    out = wp.zeros(1, dtype=wp.vec3, requires_grad=True)
    tape = wp.Tape()
    with tape:
        wp.launch(inplace, dim=1, inputs=[x, out], device="cpu")
    tape.backward(grads={out: wp.array([wp.vec3(*seed)], dtype=wp.vec3, device="cpu")})
    return float(x.grad.numpy()[0])

xv = 1.0
s = np.sqrt(5 * xv**2 + 0.25)
ds = 5 * xv / s                    # d s / d x
for seed in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)]:
    # out = (x - s + s, 2x + s, 0.5 + s): out[0] = x exactly
    exact = seed[0] * 1.0 + seed[1] * (2 + ds) + seed[2] * ds
    print(f"seed {seed}: warp {adjoint(xv, seed):.4f}  derivative {exact:.4f}")
