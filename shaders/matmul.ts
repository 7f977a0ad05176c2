/**
 * Tiled matrix product with a fused epilogue:
 *
 *   C[m, n] = act(op(A) · op(B) + bias)        or, with accumulate,  C += op(A) · op(B)
 *
 * or, with gradActivation, the backward of the layer below's activation in the same pass:
 *
 *   C[m, n] = (op(A) · op(B)) ⊙ f'(S)          S [m, n]: that layer's output y = f(x), or x
 *
 * op(A) is [m, k]: A is stored [m, k] row-major, or [k, m] when transA (C = Aᵀ·B, the weight
 * gradient Xᵀ·dY). op(B) is [k, n]: B is stored [k, n], or [n, k] when transB (C = A·Bᵀ, the
 * input gradient dY·Wᵀ). No transpose is ever copied: each operand's tile is loaded in the
 * operand's own storage layout and the transpose happens in registers.
 *
 * Geometry. A workgroup of WG_X·WG_Y threads owns a TM×TN tile of C; each thread owns BM×BN
 * blocks of 4×4 outputs (TM = 4·BM·WG_Y, TN = 4·BN·WG_X), each block kept in registers as one
 * mat4x4f (column i = row i of the block, so one column is one vec4 store into row-major C).
 * A thread's blocks interleave with its neighbours' (block rows WG_Y·4 apart), so neighbouring
 * threads read neighbouring vec4s of workgroup memory and store neighbouring vec4s of C.
 * The k axis is walked TK at a time: the workgroup copies the A and B windows of that step into
 * workgroup memory (each thread moving whole vec4s; a transposed B moves in 4×4 blocks,
 * transposed in registers into the [TK, TN] window, so every variant reads B alike), then
 * every thread multiplies its rows of the A window by its columns of the B window, 4
 * k-values per 4×4 matrix product.
 *
 * Loads use vec4 where the operand's contiguous dimension is a multiple of 4 (every vec4 is
 * then aligned and either wholly inside the matrix or wholly outside), and four bounds-checked
 * scalar loads otherwise. Elements outside the matrix load as 0, so edge tiles need no special
 * path in the product; only the stores check bounds.
 *
 * The tile grid is flattened (tile = workgroup_id.x + workgroup_id.y · num_workgroups.x) so a
 * launch over maxComputeWorkgroupsPerDimension folds into two dimensions (Engine.dispatchGrid).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { activationFromY, activationWgsl, type ActivationSpec } from './activations.js';
import { flatIndex, WORKGROUP_1D } from './common.js';

/**
 * Threads and k-step of one workgroup. Each thread computes bm×bn blocks of 4×4 outputs,
 * so a workgroup covers TM = 4·bm·wgY rows and TN = 4·bn·wgX columns of C.
 */
export interface MatmulTiling {
  /** Threads along n (C's columns). */
  wgX: number;
  /** Threads along m (C's rows). */
  wgY: number;
  /** 4×4 blocks per thread along m and along n. */
  bm: number;
  bn: number;
  /** k-values per shared-memory step, a multiple of 4. */
  tk: number;
  /** Pad each row of the workgroup tiles by one vec4 (spreads column reads over memory banks). */
  pad: boolean;
  /**
   * Split k into this many chunks (a multiple of tk each): the grid runs every tile once per
   * chunk, each writing its partial product, and a second kernel (matmulSplitReduceShader)
   * adds the partials in chunk order and applies the epilogue. For products whose few tiles
   * would leave most of a GPU idle (a weight gradient, k = the batch). 1 or absent: none.
   */
  splitK?: number;
  /**
   * Register prefetch: each thread loads its slots of the next step's windows from storage
   * into registers before the current step's products, and stores them into workgroup
   * memory after the step's second barrier, so the loads' latency overlaps the arithmetic
   * (a GPU's; a CPU adapter gains nothing). Costs the registers of its slots. Default false.
   */
  prefetch?: boolean;
}

/** Everything that selects a distinct shader. */
export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  /** A's contiguous dimension (k, or m when transA) is a multiple of 4. */
  vecA: boolean;
  /** B's contiguous dimension (n, or k when transB) is a multiple of 4. */
  vecB: boolean;
  /** n is a multiple of 4: C, bias and the pre-activation are read and written as vec4. */
  vecC: boolean;
  bias: boolean;
  /** undefined or linear: no activation. */
  activation?: ActivationSpec;
  writePreActivation: boolean;
  accumulate: boolean;
  /**
   * Multiply the product by f'(·) of gradSource, which holds f's output y (from 'y') or its
   * input x (from 'x'). Excludes bias, activation, writePreActivation and accumulate.
   */
  gradActivation?: { activation: ActivationSpec; from: 'x' | 'y' };
  /**
   * Also write s[j] = Σ_p op(B)[p, j], the column sums of op(B) (with accumulate, s += them):
   * the bias gradient Σ_rows dY beside the weight gradient Xᵀ·dY, in the same pass. Only for
   * transA without transB. The threads of the first tile row sum the B windows they already
   * hold; the other workgroups do nothing more.
   */
  columnSums?: boolean;
}

/** Workgroup memory the shader declares for `tiling` (both tiles, with their row padding). */
export function matmulWorkgroupBytes(t: MatmulTiling, transA: boolean): number {
  const tm = 4 * t.bm * t.wgY;
  const tn = 4 * t.bn * t.wgX;
  const pad = t.pad ? 1 : 0;
  // The A tile is A's window in its storage layout, rows of vec4; the B tile is [TK, TN]
  // whatever B's layout (a transposed B is transposed as it is stored).
  const aVecs = transA ? t.tk * (tm / 4 + pad) : tm * (t.tk / 4 + pad);
  const bVecs = t.tk * (tn / 4 + pad);
  return 16 * (aVecs + bVecs);
}

/**
 * Bindings: 0 a, 1 b (read), 2 c (read_write), 3 params (MATMUL_PARAMS: the shape, the tiles, k-steps, chunks),
 * then bias (if v.bias), then the pre-activation (if v.writePreActivation); or, with
 * v.gradActivation, 4 the gradient source S (read); or, with v.columnSums, 4 the sums [n]
 * (read_write).
 * Launch: one workgroup per TM×TN tile of C, flattened and folded (see the module comment).
 * With t.splitK > 1 (a chunk of k a workgroup): the plain product of each chunk into C =
 * the partial buffer [splits, rows_per_split, n], the column sums into row m of each
 * chunk's rows (no sums binding); one workgroup per tile and chunk, tiles × splits.
 */
export function matmulShader(v: MatmulVariant, t: MatmulTiling): string {
  const sums = v.columnSums ?? false;
  const split = (t.splitK ?? 1) > 1;
  const prefetch = t.prefetch ?? false;
  if (sums && (!v.transA || v.transB || v.bias || v.writePreActivation || v.gradActivation)) {
    throw new RangeError(
      'matmul shader: columnSums only with transA, no transB and no epilogue but accumulate',
    );
  }
  return wgsl`
// op(A): [m, k]; A stored ${v.transA ? '[k, m]' : '[m, k]'} row-major.
// op(B): [k, n]; B stored ${v.transB ? '[n, k]' : '[k, n]'} row-major.  C: [m, n] row-major.
${MATMUL_PARAMS}

${matmulOperandsWgsl(v.vecA, v.vecB)}
${matmulEpilogueWgsl(split ? plainEpilogue(v) : v)}
#if ${sums && !split}
${columnSumsWgsl(v.vecC, v.accumulate)}
#endif

const WG_X = ${t.wgX}u;  // threads along n
const WG_Y = ${t.wgY}u;  // threads along m
const THREADS = WG_X * WG_Y;
const BM = ${t.bm}u;     // 4×4 blocks per thread along m
const BN = ${t.bn}u;     // and along n
const TM = 4u * BM * WG_Y;  // rows of C per workgroup
const TN = 4u * BN * WG_X;  // columns of C per workgroup
const TK = ${t.tk}u;     // k-values per step
const PAD = ${t.pad ? 1 : 0}u;

// The A window of one step, [TM, TK] of op(A), kept in A's storage layout as rows of vec4
// along the stored contiguous dimension. With PAD, each row is padded by one vec4 so that
// threads reading down a column of vec4s hit different memory banks.
#if ${v.transA}
const A_ROWS = TK;         // the window is [TK, TM] of A stored [k, m]
const A_VECS = TM / 4u;
#else
const A_ROWS = TM;         // the window is [TM, TK] of A stored [m, k]
const A_VECS = TK / 4u;
#endif
const A_STRIDE = A_VECS + PAD;
var<workgroup> tile_a: array<vec4f, A_ROWS * A_STRIDE>;

// The B window, [TK, TN] of op(B), as rows of vec4 along n whatever B's storage: a B stored
// [n, k] (transB) is transposed as it is stored here, so that the product reads every
// variant's window the same way, neighbouring threads neighbouring vec4s. (Read in its
// storage layout, the transposed window put neighbouring threads 4 rows apart: an 8-way
// shared-memory bank conflict on a GPU.)
const B_ROWS = TK;
const B_VECS = TN / 4u;
const B_STRIDE = B_VECS + PAD;
var<workgroup> tile_b: array<vec4f, B_ROWS * B_STRIDE>;

// Elements (col .. col + 3) of stored row \`row\` of A, zero outside the matrix.
// A's stored shape is [a_rows, a_cols].
fn load_a(row: u32, col: u32) -> vec4f {
#if ${v.transA}
  let a_rows = params.k;
  let a_cols = params.m;
#else
  let a_rows = params.m;
  let a_cols = params.k;
#endif
  if (row >= a_rows) { return vec4f(0.0); }
#if ${v.vecA}
  // a_cols is a multiple of 4 and so is col: the vec4 is aligned and wholly in or out.
  if (col >= a_cols) { return vec4f(0.0); }
  return a[(row * a_cols + col) / 4u];
#else
  var v = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (col + e < a_cols) { v[e] = a[row * a_cols + col + e]; }
  }
  return v;
#endif
}

// Elements (col .. col + 3) of stored row \`row\` of B, zero outside the matrix.
fn load_b(row: u32, col: u32) -> vec4f {
#if ${v.transB}
  let b_rows = params.n;
  let b_cols = params.k;
#else
  let b_rows = params.k;
  let b_cols = params.n;
#endif
  if (row >= b_rows) { return vec4f(0.0); }
#if ${v.vecB}
  if (col >= b_cols) { return vec4f(0.0); }
  return b[(row * b_cols + col) / 4u];
#else
  var v = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (col + e < b_cols) { v[e] = b[row * b_cols + col + e]; }
  }
  return v;
#endif
}

// The windows in slots, one vec4 (A; B stored [k, n]) or one 4×4 block (B stored [n, k]) a
// slot: window_x(s, ...) reads slot s of the step at k0 from storage, put_x(s, ...) stores it
// into workgroup memory. Slot s of A is (row s / A_VECS, vec4 s % A_VECS) of its window.
const A_SLOTS = A_ROWS * A_VECS;

fn window_a(s: u32, k0: u32, row0: u32) -> vec4f {
  let r = s / A_VECS;
  let q = s % A_VECS;
#if ${v.transA}
  return load_a(k0 + r, row0 + 4u * q);
#else
  return load_a(row0 + r, k0 + 4u * q);
#endif
}

fn put_a(s: u32, value: vec4f) {
  tile_a[(s / A_VECS) * A_STRIDE + s % A_VECS] = value;
}
#if ${v.transB}
// B stored [n, k]: slot s is a 4×4 block, columns 4c .. 4c + 3 of the window by its k-quad
// q, read as four vec4s along k and stored transposed as four whole vec4s, one into each of
// the window's rows 4q .. 4q + 3. (Whole vec4s: a write of one component may touch the whole
// vector, so threads writing neighbouring components would race.)
const B_SLOTS = (TN / 4u) * (TK / 4u);
alias BSlot = mat4x4f;

fn window_b(s: u32, k0: u32, col0: u32) -> mat4x4f {
  let c = s / (TK / 4u);
  let kk = k0 + 4u * (s % (TK / 4u));
  return transpose(mat4x4f(load_b(col0 + 4u * c, kk), load_b(col0 + 4u * c + 1u, kk),
                           load_b(col0 + 4u * c + 2u, kk), load_b(col0 + 4u * c + 3u, kk)));
}

fn put_b(s: u32, block: mat4x4f) {
  let at = 4u * (s % (TK / 4u)) * B_STRIDE + s / (TK / 4u);
  tile_b[at] = block[0];
  tile_b[at + B_STRIDE] = block[1];
  tile_b[at + 2u * B_STRIDE] = block[2];
  tile_b[at + 3u * B_STRIDE] = block[3];
}
#else
const B_SLOTS = B_ROWS * B_VECS;
alias BSlot = vec4f;

fn window_b(s: u32, k0: u32, col0: u32) -> vec4f {
  return load_b(k0 + s / B_VECS, col0 + 4u * (s % B_VECS));
}

fn put_b(s: u32, value: vec4f) {
  tile_b[(s / B_VECS) * B_STRIDE + s % B_VECS] = value;
}
#endif
#if ${prefetch}
// A thread's slots: lid, lid + THREADS, ... (A_PER and B_PER of them at most).
const A_PER = (A_SLOTS + THREADS - 1u) / THREADS;
const B_PER = (B_SLOTS + THREADS - 1u) / THREADS;
#endif

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let flat = wid.x + wid.y * nwg.x;  // uniform across the workgroup
#if ${split}
  // Workgroup flat: tile flat % tiles over chunk flat / tiles of k, into that chunk's rows of
  // the partial buffer (rows_per_split a chunk: C's m, and the column sums' row).
  let chunk = flat / params.tiles;
  let tile = flat - chunk * params.tiles;
  if (chunk >= params.splits) { return; }
  let k_begin = chunk * params.k_chunk;
  let out_row0 = chunk * params.rows_per_split;
#else
  let tile = flat;
  if (tile >= params.tiles) { return; }
  let k_begin = 0u;
  let out_row0 = 0u;
#endif
  // k_chunk is a multiple of TK, so a step never reads past its chunk.
  let k_end = min(params.k, k_begin + params.k_chunk);
  let row0 = (tile / params.tiles_n) * TM;  // this workgroup's first row and column of C
  let col0 = (tile % params.tiles_n) * TN;
  // This thread's blocks interleave with its neighbours': block (bi, bj) holds rows
  // row0 + 4·(ty + WG_Y·bi) .. +3 and columns col0 + 4·(tx + WG_X·bj) .. +3.
  let tx = lid % WG_X;
  let ty = lid / WG_X;

  // acc[bi·BN + bj][i] = row i of block (bi, bj), over its 4 columns.
  var acc: array<mat4x4f, BM * BN>;
#if ${sums}
  // The first row of threads of the first tile row also sums its columns of op(B):
  // col_sum[bj] over the 4 columns of its block column bj. (Uniform per workgroup but ty.)
  let sums_row = row0 == 0u && ty == 0u;
  var col_sum: array<vec4f, BN>;
#endif

#if ${prefetch}
  var next_a: array<vec4f, A_PER>;
  var next_b: array<BSlot, B_PER>;
  for (var u = 0u; u < A_PER; u++) {
    let s = lid + u * THREADS;
    if (s < A_SLOTS) { next_a[u] = window_a(s, k_begin, row0); }
  }
  for (var u = 0u; u < B_PER; u++) {
    let s = lid + u * THREADS;
    if (s < B_SLOTS) { next_b[u] = window_b(s, k_begin, col0); }
  }
#endif
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
#if ${prefetch}
    // This step's windows, fetched into registers before the previous step's products.
    for (var u = 0u; u < A_PER; u++) {
      let s = lid + u * THREADS;
      if (s < A_SLOTS) { put_a(s, next_a[u]); }
    }
    for (var u = 0u; u < B_PER; u++) {
      let s = lid + u * THREADS;
      if (s < B_SLOTS) { put_b(s, next_b[u]); }
    }
    workgroupBarrier();
    // The next step's, while this one's products run (k0 + TK is uniform).
    if (k0 + TK < k_end) {
      for (var u = 0u; u < A_PER; u++) {
        let s = lid + u * THREADS;
        if (s < A_SLOTS) { next_a[u] = window_a(s, k0 + TK, row0); }
      }
      for (var u = 0u; u < B_PER; u++) {
        let s = lid + u * THREADS;
        if (s < B_SLOTS) { next_b[u] = window_b(s, k0 + TK, col0); }
      }
    }
#else
    // Copy the two windows, slot by slot.
    for (var s = lid; s < A_SLOTS; s += THREADS) { put_a(s, window_a(s, k0, row0)); }
    for (var s = lid; s < B_SLOTS; s += THREADS) { put_b(s, window_b(s, k0, col0)); }
    workgroupBarrier();
#endif

#if ${sums}
    if (sums_row) {
      for (var bj = 0u; bj < BN; bj++) {
        var part = vec4f(0.0);  // rows past k were loaded as 0
        for (var kk = 0u; kk < TK; kk++) { part += tile_b[kk * B_STRIDE + tx + WG_X * bj]; }
        col_sum[bj] += part;
      }
    }
#endif

    // A bound the compiler cannot see (it is TK / 4) keeps this loop rolled: lavapipe's LLVM,
    // given TK / 4 copies of the body, spills registers and runs about 1.5x slower (SwiftShader
    // would gain some 15% from unrolling; lavapipe is the faster and more used of the two).
    for (var kq = 0u; kq < params.k_quads; kq++) {
      // at[bi]: column i = row i of block row bi of op(A), over kk = 4·kq .. 4·kq + 3.
      var at: array<mat4x4f, BM>;
      for (var bi = 0u; bi < BM; bi++) {
#if ${v.transA}
        let ka = 4u * kq * A_STRIDE + ty + WG_Y * bi;  // tile_a row kk: op(A)[4 rows, kk]
        at[bi] = transpose(mat4x4f(tile_a[ka], tile_a[ka + A_STRIDE],
                                   tile_a[ka + 2u * A_STRIDE], tile_a[ka + 3u * A_STRIDE]));
#else
        let ka = 4u * (ty + WG_Y * bi) * A_STRIDE + kq;  // tile_a row r: op(A)[r, 4 kk]
        at[bi] = mat4x4f(tile_a[ka], tile_a[ka + A_STRIDE],
                         tile_a[ka + 2u * A_STRIDE], tile_a[ka + 3u * A_STRIDE]);
#endif
      }
      for (var bj = 0u; bj < BN; bj++) {
        // bk: column j = row 4·kq + j of op(B), over the 4 columns of block column bj.
        let kb = 4u * kq * B_STRIDE + tx + WG_X * bj;  // tile_b row kk: op(B)[kk, 4 columns]
        let bk = mat4x4f(tile_b[kb], tile_b[kb + B_STRIDE],
                         tile_b[kb + 2u * B_STRIDE], tile_b[kb + 3u * B_STRIDE]);
        // Column i of bk · at = Σ_j op(B)[kk_j, 4 columns] · op(A)[row_i, kk_j].
        for (var bi = 0u; bi < BM; bi++) {
          acc[bi * BN + bj] += bk * at[bi];
        }
      }
    }
    workgroupBarrier();
  }

  // Epilogue: z = acc (+ bias); store z (pre-activation) and act(z), or C += acc, or
  // C = acc ⊙ f'(S).
  for (var bi = 0u; bi < BM; bi++) {
    for (var bj = 0u; bj < BN; bj++) {
      let col = col0 + 4u * (tx + WG_X * bj);
      for (var i = 0u; i < 4u; i++) {
        let row = row0 + 4u * (ty + WG_Y * bi) + i;
        if (row >= params.m) { break; }
        store_c(out_row0 + row, col, acc[bi * BN + bj][i]);
      }
    }
  }
#if ${sums}
  if (sums_row) {
    for (var bj = 0u; bj < BN; bj++) {
#if ${split}
      // This chunk's share of the sums, in the row after its partial product.
      store_c(out_row0 + params.m, col0 + 4u * (tx + WG_X * bj), col_sum[bj]);
#else
      store_sums(col0 + 4u * (tx + WG_X * bj), col_sum[bj]);
#endif
    }
  }
#endif
}`;
}

/**
 * The uniform of the tiled kernel and of the split-k reduction: C's shape; the tile grid;
 * TK / 4; the k-chunk a split workgroup covers (k itself without a split), the chunks and
 * the rows a chunk takes in the partial buffer (m, + 1 with column sums).
 */
const MATMUL_PARAMS = /* wgsl */ `struct Params {
  m: u32, n: u32, k: u32,
  tiles_n: u32,  // tiles along n: ceil(n / TN)
  tiles: u32,    // all tiles of C
  k_quads: u32,  // TK / 4, as a uniform so the inner k loop stays a loop (see there)
  k_chunk: u32, splits: u32, rows_per_split: u32,
  _pad0: u32, _pad1: u32, _pad2: u32,
}`;

/** The uniform's words for matmulShader and matmulSplitReduceShader (12 u32). */
export function matmulParams(p: {
  m: number;
  n: number;
  k: number;
  tilesN: number;
  tiles: number;
  kQuads: number;
  kChunk: number;
  splits: number;
  rowsPerSplit: number;
}): Uint32Array {
  return new Uint32Array([
    p.m,
    p.n,
    p.k,
    p.tilesN,
    p.tiles,
    p.kQuads,
    p.kChunk,
    p.splits,
    p.rowsPerSplit,
    0,
    0,
    0,
  ]);
}

/** `v` with only a plain store of the product: what a split-k chunk writes. */
function plainEpilogue(v: MatmulVariant): MatmulVariant {
  return {
    ...v,
    bias: false,
    activation: undefined,
    writePreActivation: false,
    accumulate: false,
    gradActivation: undefined,
  };
}

/**
 * The second kernel of a split-k product: C = epilogue(Σ_chunks partial[chunk]) in chunk
 * order (deterministic), and with v.columnSums the sums row likewise into the sums buffer.
 * Bindings: 0 partial [splits, rows_per_split, n] (read), 2 c and 4.. as the epilogue of
 * `v` (matmulEpilogueWgsl; with columnSums 4 the sums), 3 params (MATMUL_PARAMS). Binding 1
 * is not declared. Launch: one thread per 4 columns of a row, rows_per_split rows (folded 2-D).
 */
export function matmulSplitReduceShader(v: MatmulVariant): string {
  const sums = v.columnSums ?? false;
  return wgsl`
${MATMUL_PARAMS}
#if ${v.vecC}
@group(0) @binding(0) var<storage, read> partial: array<vec4f>;
#else
@group(0) @binding(0) var<storage, read> partial: array<f32>;
#endif
@group(0) @binding(3) var<uniform> params: Params;
${matmulEpilogueWgsl(v)}
#if ${sums}
${columnSumsWgsl(v.vecC, v.accumulate)}
#endif

const WG: u32 = ${WORKGROUP_1D}u;
${flatIndex}

// Columns col .. col + 3 of row \`row\` of chunk \`chunk\`, zero past n.
fn part(chunk: u32, row: u32, col: u32) -> vec4f {
  let at = (chunk * params.rows_per_split + row) * params.n + col;
#if ${v.vecC}
  return partial[at / 4u];
#else
  var q = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { q[j] = partial[at + j]; }
  }
  return q;
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = flat_index(gid, nwg);
  let quads = (params.n + 3u) / 4u;
  let row = t / quads;
  if (row >= params.rows_per_split) { return; }
  let col = 4u * (t - row * quads);
  var s = part(0u, row, col);
  for (var c = 1u; c < params.splits; c++) { s += part(c, row, col); }
#if ${sums}
  if (row == params.m) { store_sums(col, s); return; }
#endif
  store_c(row, col, s);
}`;
}

/**
 * WGSL: binding 4, the column sums [n] (read_write), and fn store_sums(col, s: vec4f) writing
 * (or adding) sums[col .. col + 3], those inside n.
 */
function columnSumsWgsl(vecC: boolean, accumulate: boolean): string {
  const op = accumulate ? '+=' : '=';
  return wgsl`
#if ${vecC}
@group(0) @binding(4) var<storage, read_write> sums: array<vec4f>;  // [n]
fn store_sums(col: u32, s: vec4f) {
  if (col < params.n) { sums[col / 4u] ${op} s; }
}
#else
@group(0) @binding(4) var<storage, read_write> sums: array<f32>;  // [n]
fn store_sums(col: u32, s: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { sums[col + j] ${op} s[j]; }
  }
}
#endif`;
}

/** The part of a variant that selects the epilogue (shared by the tiled and thin shaders). */
export type MatmulEpilogue = Pick<
  MatmulVariant,
  'vecC' | 'bias' | 'activation' | 'writePreActivation' | 'accumulate' | 'gradActivation'
>;

/**
 * WGSL: the operand bindings every matmul shader shares: 0 a and 1 b (read; vec4 arrays when
 * their contiguous dimension is a multiple of 4, else scalars) and 3 params (uniform; the
 * shader defines struct Params).
 */
export function matmulOperandsWgsl(vecA: boolean, vecB: boolean): string {
  return wgsl`
#if ${vecA}
@group(0) @binding(0) var<storage, read> a: array<vec4f>;
#else
@group(0) @binding(0) var<storage, read> a: array<f32>;
#endif
#if ${vecB}
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> b: array<f32>;
#endif
@group(0) @binding(3) var<uniform> params: Params;`;
}

/**
 * WGSL shared by the matmul shaders: the output bindings (2 c; then 4 bias if v.bias, then
 * the pre-activation if v.writePreActivation; or 4 the gradient source S with
 * v.gradActivation), the activation functions, and
 *
 *   fn store_c(row, col, product: vec4f)   C[row, col .. col + 3] through the epilogue
 *
 * which reads params.n. Throws on an epilogue no shader has (see MatmulVariant).
 */
export function matmulEpilogueWgsl(v: MatmulEpilogue): string {
  const activation = v.activation !== undefined && v.activation.name !== 'linear';
  const dact = v.gradActivation;
  if (dact && (activation || v.bias || v.writePreActivation || v.accumulate)) {
    throw new RangeError(
      'matmul shader: gradActivation excludes bias, activation, pre-activation and accumulate',
    );
  }
  const fromOk = dact?.from === 'x' || (dact?.from === 'y' && activationFromY(dact.activation));
  if (dact && (dact.activation.name === 'linear' || !fromOk)) {
    throw new RangeError(
      `matmul shader: no gradient epilogue for '${dact.activation.name}' from ${dact.from}`,
    );
  }
  const biasBinding = 4;
  const preBinding = v.bias ? 5 : 4;
  const gradBinding = 4;
  return wgsl`
#if ${v.vecC}
@group(0) @binding(2) var<storage, read_write> c: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
#endif
#if ${v.bias}
#if ${v.vecC}
@group(0) @binding(${biasBinding}) var<storage, read> bias: array<vec4f>;  // [n]
#else
@group(0) @binding(${biasBinding}) var<storage, read> bias: array<f32>;  // [n]
#endif
#endif
#if ${v.writePreActivation}
#if ${v.vecC}
@group(0) @binding(${preBinding}) var<storage, read_write> pre: array<vec4f>;  // [m, n], z before the activation
#else
@group(0) @binding(${preBinding}) var<storage, read_write> pre: array<f32>;  // [m, n], z before the activation
#endif
#endif
#if ${dact !== undefined}
#if ${v.vecC}
@group(0) @binding(${gradBinding}) var<storage, read> grad_src: array<vec4f>;  // [m, n], S
#else
@group(0) @binding(${gradBinding}) var<storage, read> grad_src: array<f32>;  // [m, n], S
#endif
#endif
${activation ? activationWgsl(v.activation as ActivationSpec) : ''}
${dact ? activationWgsl(dact.activation) + gradEpilogueWgsl(dact.from) : ''}

// Stores row \`row\`, columns col .. col + 3 of the product through the epilogue.
fn store_c(row: u32, col: u32, product: vec4f) {
#if ${v.vecC}
  // n is a multiple of 4, so the 4 columns are all inside or all outside.
  if (col >= params.n) { return; }
  let at_c = (row * params.n + col) / 4u;
  var z = product;
#if ${v.bias}
  z += bias[col / 4u];
#endif
#if ${v.writePreActivation}
  pre[at_c] = z;
#endif
#if ${v.accumulate}
  c[at_c] += z;
#elif ${activation}
  c[at_c] = vec4f(activate(z.x), activate(z.y), activate(z.z), activate(z.w));
#elif ${dact !== undefined}
  let s = grad_src[at_c];
  c[at_c] = vec4f(times_grad(z.x, s.x), times_grad(z.y, s.y), times_grad(z.z, s.z), times_grad(z.w, s.w));
#else
  c[at_c] = z;
#endif
#else
  for (var j = 0u; j < 4u; j++) {
    if (col + j >= params.n) { return; }
    let at_c = row * params.n + col + j;
    var z = product[j];
#if ${v.bias}
    z += bias[col + j];
#endif
#if ${v.writePreActivation}
    pre[at_c] = z;
#endif
#if ${v.accumulate}
    c[at_c] += z;
#elif ${activation}
    c[at_c] = activate(z);
#elif ${dact !== undefined}
    c[at_c] = times_grad(z, grad_src[at_c]);
#else
    c[at_c] = z;
#endif
  }
#endif
}`;
}

/**
 * WGSL `times_grad(d, s)` = d·f'(·), f' taken at S's element s by activate_grad_x or _y. A NaN
 * in either factor gives NaN even where f' is 0 (relu's inactive units), as the separate
 * activation-gradient kernel does: a fast-math compiler may fold d·0 to 0.
 */
function gradEpilogueWgsl(from: 'x' | 'y'): string {
  return `
fn times_grad(d: f32, s: f32) -> f32 {
  let g = activate_grad_${from}(s);
  return select(select(d * g, g, is_nan(g)), d, is_nan(d));
}`;
}
