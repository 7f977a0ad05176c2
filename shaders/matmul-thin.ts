/**
 * Matrix product without workgroup memory for operands, with the same operands, epilogues and
 * bindings as the tiled shader (./matmul.ts). Written for a thin C (m ≤ MATMUL_THIN_MAX_M = 8
 * rows: prediction on one or a few samples, the input gradient of a small batch, the weight
 * gradient of a layer with few inputs), for which the tiled shader would compute a 32-row
 * tile, mostly padding. On a CPU adapter it also runs taller products, in row blocks of at
 * most 8 rows (src/kernels/matmul.ts, matmulKernelFor): there a barrier costs more than the
 * operand reads that workgroup memory would save.
 *
 *   C[m, n] = act(op(A) · op(B) + bias),   C += op(A) · op(B),   or   C = op(A) · op(B) ⊙ f'(S)
 *
 * Geometry. Each thread owns one column quad of C (4 consecutive columns) for the M rows
 * of its workgroup's row block: M vec4 accumulators. A workgroup of Q·S threads covers Q
 * column quads and splits k into S slices: thread (q, s) sums the k-quads s, s + S, s + 2S, ... (4 k-values each). With S > 1
 * the S partial sums of every output meet in workgroup memory after ONE barrier, and the
 * workgroup's threads then each add the S partials of one (row, quad) and store it through
 * the epilogue. With S = 1 there is no workgroup memory and no barrier: that is the geometry
 * for CPU adapters, which run a workgroup's invocations as coroutines and pay for every
 * barrier; a GPU wants the slices, for enough threads in flight on a narrow C.
 *
 * No workgroup memory holds operands: every element of B is read once per row block,
 * straight from storage (NN: a vec4 of one B row along n, consecutive threads reading
 * consecutive vec4s; NT, B stored [n, k]: the quad's 4 rows of B, a vec4 along k each), and
 * the block's rows of A are read by every thread of a slice alike (a broadcast that the
 * caches absorb).
 *
 * M is a compile-time constant (one shader per block height), so the accumulators stay in
 * registers.
 * Workgroups are flattened like the tiled shader's (one per Q column quads and row block,
 * the blocks one after another, folded into two dimensions past
 * maxComputeWorkgroupsPerDimension).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { matmulEpilogueWgsl, matmulOperandsWgsl, type MatmulVariant } from './matmul.js';

/**
 * The most rows of a row block (of C, when it has no more): M vec4 accumulators per thread.
 * Up to 8 its time on lavapipe grows in proportion to m; 12 and 16 rows take 2.2x and 2.6x
 * the time of 8 (registers run out).
 */
export const MATMUL_THIN_MAX_M = 8;

/** The thin shader's geometry: Q·S threads per workgroup. */
export interface MatmulThinTiling {
  /** Column quads (4 columns each) per workgroup. */
  quads: number;
  /** Slices of k per workgroup, reduced in workgroup memory when more than one. */
  slices: number;
}

/**
 * The thin shader's variant: the tiled one's, plus the rows of a row block, whether the last
 * block is partial, and a partial last k-quad.
 */
export interface MatmulThinVariant extends MatmulVariant {
  /**
   * Rows of C a workgroup computes (its row block), 1..MATMUL_THIN_MAX_M: the number of
   * accumulators per thread. C of more rows takes ceil(m / rows) blocks.
   */
  m: number;
  /**
   * C's rows are not a multiple of the block's: the last block reads its missing rows from
   * C's last row (every read stays in A) and does not store them.
   */
  rowTail?: boolean;
  /** k is not a multiple of 4: the last k-quad is read with bounds checks. */
  kTail: boolean;
}

/** Workgroup memory the thin shader declares: one vec4 partial sum per thread and row. */
export function matmulThinWorkgroupBytes(v: { m: number }, t: MatmulThinTiling): number {
  return t.slices > 1 ? 16 * t.quads * t.slices * v.m : 0;
}

/**
 * Bindings as matmulShader's: 0 a, 1 b (read), 2 c (read_write), 3 params { m, n, k,
 * quads_n, groups, k_full, col_groups }, then bias / pre-activation, or the gradient source S.
 * Launch: one workgroup per `quads` column quads of C and row block (`col_groups` workgroups
 * a block, block after block), flattened and folded.
 */
export function matmulThinShader(v: MatmulThinVariant, t: MatmulThinTiling): string {
  if (!Number.isInteger(v.m) || v.m < 1 || v.m > MATMUL_THIN_MAX_M) {
    throw new RangeError(`matmul thin shader: m must be 1..${MATMUL_THIN_MAX_M}, got ${v.m}`);
  }
  // A as vec4 only where each row's k-quad is one aligned vec4 (A stored [m, k], k % 4 = 0).
  const vecA = !v.transA && v.vecA;
  // One slice needs no reduction, hence no workgroup memory and no barrier.
  const reduce = t.slices > 1;
  return wgsl`
// op(A): [m, k]; A stored ${v.transA ? '[k, m]' : '[m, k]'} row-major.
// op(B): [k, n]; B stored ${v.transB ? '[n, k]' : '[k, n]'} row-major.  C: [m, n] row-major.
struct Params {
  m: u32, n: u32, k: u32,
  quads_n: u32,  // column quads of C: ceil(n / 4)
  groups: u32,   // workgroups: col_groups · ceil(m / M)
  k_full: u32,   // whole k-quads: floor(k / 4)
  col_groups: u32,  // workgroups a row block: ceil(quads_n / Q)
  _pad1: u32,
}

${matmulOperandsWgsl(vecA, v.vecB)}
${matmulEpilogueWgsl(v)}

const M = ${v.m}u;       // rows of C a workgroup (a row block)
const Q = ${t.quads}u;   // column quads per workgroup
const S = ${t.slices}u;  // k slices per workgroup
const THREADS = Q * S;

#if ${reduce}
// partial[s·M·Q + r·Q + q]: slice s's sum for row r, columns of quad q of this workgroup.
var<workgroup> partial: array<vec4f, S * M * Q>;
#endif

// op(A)[r0 + r, 4·kq .. 4·kq + 3]; \`checked\` zeroes k-values past k (the partial last
// quad). A partial last row block reads C's last row for its missing rows.
fn load_a(r0: u32, rr: u32, kq: u32, checked: bool) -> vec4f {
#if ${v.rowTail ?? false}
  let r = min(r0 + rr, params.m - 1u);
#else
  let r = r0 + rr;
#endif
#if ${vecA}
  return a[r * (params.k / 4u) + kq];
#else
  var v = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    let kk = 4u * kq + e;
    if (checked && kk >= params.k) { break; }
#if ${v.transA}
    v[e] = a[kk * params.m + r];
#else
    v[e] = a[r * params.k + kk];
#endif
  }
  return v;
#endif
}

// The quad's block of op(B) at k-quad kq, as a matrix bk with column j = op(B)[4·kq + j, the
// quad's 4 columns] (NN), or its transpose, column e = op(B)[4·kq .. +3, column e] (NT).
// Zero outside the matrix (columns past n; with \`checked\`, k-values past k).
fn load_b(quad: u32, kq: u32, checked: bool) -> mat4x4f {
  var bk: mat4x4f;
#if ${v.transB}
  // B stored [n, k]: column e of C reads row 4·quad + e of B along k.
  for (var e = 0u; e < 4u; e++) {
    let col = 4u * quad + e;
    if (col >= params.n) { break; }
#if ${v.vecB}
    bk[e] = b[col * (params.k / 4u) + kq];
#else
    for (var j = 0u; j < 4u; j++) {
      let kk = 4u * kq + j;
      if (checked && kk >= params.k) { break; }
      bk[e][j] = b[col * params.k + kk];
    }
#endif
  }
#else
  // B stored [k, n]: row kk of B, the quad's 4 columns.
  for (var j = 0u; j < 4u; j++) {
    let kk = 4u * kq + j;
    if (checked && kk >= params.k) { break; }
#if ${v.vecB}
    bk[j] = b[kk * (params.n / 4u) + quad];
#else
    for (var e = 0u; e < 4u; e++) {
      let col = 4u * quad + e;
      if (col >= params.n) { break; }
      bk[j][e] = b[kk * params.n + col];
    }
#endif
  }
#endif
  return bk;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let flat = wid.x + wid.y * nwg.x;  // uniform across the workgroup
  if (flat >= params.groups) { return; }
  let r0 = (flat / params.col_groups) * M;  // the row block's first row of C
  let group = flat % params.col_groups;
  let q = lid % Q;
  let s = lid / Q;
  let quad = group * Q + q;  // this thread's columns: 4·quad .. 4·quad + 3

  var acc: array<vec4f, M>;
  if (quad < params.quads_n) {
    for (var kq = s; kq < params.k_full; kq += S) {
      let bk = load_b(quad, kq, false);
      for (var r = 0u; r < M; r++) {
#if ${v.transB}
        acc[r] += load_a(r0, r, kq, false) * bk;  // acc[r][e] += dot(op(A)[r, kq], column e's k-quad)
#else
        acc[r] += bk * load_a(r0, r, kq, false);  // acc[r] += Σ_j op(A)[r, 4·kq + j] · op(B)[4·kq + j, quad]
#endif
      }
    }
#if ${v.kTail}
    // The partial last k-quad belongs to the slice whose turn it is.
    if (params.k_full % S == s) {
      let bk = load_b(quad, params.k_full, true);
      for (var r = 0u; r < M; r++) {
#if ${v.transB}
        acc[r] += load_a(r0, r, params.k_full, true) * bk;
#else
        acc[r] += bk * load_a(r0, r, params.k_full, true);
#endif
      }
    }
#endif
  }
#if ${reduce}
  for (var r = 0u; r < M; r++) {
    partial[(s * M + r) * Q + q] = acc[r];
  }
  workgroupBarrier();

  // Thread o adds the S partials of (row o / Q, quad o % Q), then stores it.
  for (var o = lid; o < M * Q; o += THREADS) {
    var z = partial[o];
    for (var t = 1u; t < S; t++) {
      z += partial[t * M * Q + o];
    }
    let col_quad = group * Q + o % Q;
    if (col_quad < params.quads_n && r0 + o / Q < params.m) {
      store_c(r0 + o / Q, 4u * col_quad, z);
    }
  }
#else
  // One slice: the thread holds whole sums.
  if (quad < params.quads_n) {
    for (var r = 0u; r < M; r++) {
#if ${v.rowTail ?? false}
      if (r0 + r >= params.m) { break; }
#endif
      store_c(r0 + r, 4u * quad, acc[r]);
    }
  }
#endif
}`;
}
