"""The chapter's two snippets, verbatim (Vol. II, Ch. 06), for tests and the benchmark."""

LORA_ALGEBRA = '''\
# LoRA algebra: full vs 2dr trainable params, merge check
import numpy as np
rng = np.random.default_rng(0)
d_in, d_out, r = 256, 256, 8

W0 = rng.normal(0, 0.02, (d_out, d_in))   # frozen base weight
A  = rng.normal(0, 0.02, (r, d_in))       # adapter A (starts gaussian)
B  = rng.normal(0, 0.02, (d_out, r))      # adapter B ("after training": nonzero)

full = d_out * d_in
lora = r * (d_in + d_out)
print(f"full fine-tune params : {full:,}")
print(f"LoRA params (2dr)     : {lora:,}")
print(f"trainable fraction    : {100*lora/full:.2f} %")

x = rng.normal(0, 1, (5, d_in))           # a batch of 5 activations
y_two_path = x @ W0.T + (x @ A.T) @ B.T   # frozen path + adapter path
W_merged   = W0 + B @ A                   # EQ 6.1 merged, alpha/r = 1
y_merged   = x @ W_merged.T
print("merged == two-path    :", np.allclose(y_two_path, y_merged))
print("max abs difference    :", float(np.abs(y_two_path - y_merged).max()))
'''

RANK_VS_CAPACITY = '''\
# Rank vs capacity: truncated SVD of a rank-16 target update
import numpy as np
rng = np.random.default_rng(0)
d = 256
U = rng.normal(0, 1, (d, 16)); V = rng.normal(0, 1, (16, d))
dW = U @ V / np.sqrt(d)                   # a "true" update of intrinsic rank 16

u, s, vt = np.linalg.svd(dW)
ranks, errs = [1, 4, 16, 64], []
for r in ranks:
    approx = (u[:, :r] * s[:r]) @ vt[:r]  # best rank-r fit (Eckart-Young)
    e = np.linalg.norm(dW - approx) / np.linalg.norm(dW)
    errs.append(e)
    print(f"rank {r:3d}: relative Frobenius error {e:.4f}")

print("\\nerror hits zero exactly at the target's intrinsic rank (16);")
print("rank 64 buys nothing. LoRA's bet is that real dW looks like this.")
plot_xy(ranks, errs)
'''
