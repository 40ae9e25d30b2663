"""Fits the rational approximation of erf used by SIMDMath.erf (Sources/Inference/Kernels/VectorMath.swift):
erf(x) = x * P(x^2) / Q(x^2) on |x| <= c, with Q(0) = 1, by reweighted linear least squares
(Lawson's iteration). Prints the largest error in double and in float32 evaluation for a few degrees.
Run with Debian's python3 and numpy: python3 scripts/fit_erf.py"""
import numpy as np
from math import erf
c = 3.925
xs = np.concatenate([np.linspace(0, c, 20000)])
xs = xs[1:]
y = np.array([erf(v) for v in xs])
t = xs*xs
def fit(np_, nq, iters=30):
    w = np.ones_like(xs)
    best=None
    for it in range(iters):
        # y*Q(t) = x*P(t); Q = 1 + q1 t + ...
        A = np.hstack([ (xs[:,None]*t[:,None]**np.arange(np_)), -(y[:,None]*t[:,None]**np.arange(1,nq+1)) ])
        sol,*_ = np.linalg.lstsq(A*w[:,None], y*w, rcond=None)
        p = sol[:np_]; q = np.concatenate([[1], sol[np_:]])
        P = xs*np.polyval(p[::-1], t); Q = np.polyval(q[::-1], t)
        approx = P/Q
        err = approx - y
        m = np.abs(err).max()
        if best is None or m < best[0]: best=(m,p,q)
        # Lawson-like reweight
        w = w * (np.abs(err)/m)**0.5 + 1e-12
        w = w/np.mean(w)
        # also divide by Q for linearization
    return best
for np_, nq in [(5,4),(6,4),(6,5),(7,5)]:
    m,p,q = fit(np_, nq)
    # float32 evaluation check
    xf = np.linspace(0, 6, 200001).astype(np.float32)
    tc = np.minimum(xf, np.float32(c)); tt = tc*tc
    P = np.zeros_like(xf); 
    for co in p[::-1]: P = P*tt + np.float32(co)
    Q = np.zeros_like(xf)
    for co in q[::-1]: Q = Q*tt + np.float32(co)
    r = (tc*P/Q).astype(np.float32)
    ref = np.array([erf(float(v)) for v in xf])
    print(np_, nq, m, np.abs(r-ref).max())
    print(' p', [float(np.float32(v)) for v in p]); print(' q', [float(np.float32(v)) for v in q])
