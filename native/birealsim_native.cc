/*
 * birealsim native kernels (Node-API addon): the optional 'native' backend of src/kernels (KernelSet in
 * src/kernels/types.ts). Every function returns exactly what the TypeScript spec (src/kernels/reference.ts,
 * src/ops/bn.ts bnApply, add.ts addApply, common.ts poolApply, core/tensor.ts packSigns, bconv.ts
 * xnorOutputTransform) returns, bit for bit:
 *   - binary conv / GEMM: integer popcounts (order-free). AVX-512 VPOPCNTDQ when the CPU has it, else AVX2
 *     (nibble-table popcount on operands split into nibble halves, 4 pixels x 16 channels in registers),
 *     else scalar POPCNT, chosen at run time (__builtin_cpu_supports).
 *   - fp32 conv / fc: one fp32 sum per output from +0 over (ky, kx, c) ascending of fp32 products, bias added
 *     last, exactly the spec's order. Vectorised ACROSS output channels (lanes are independent outputs), never
 *     by reordering a sum; built with -ffp-contract=off so no multiply-add is fused (the spec rounds the
 *     product). AVX-512F and baseline: GCC vector extensions compiled per ISA by target attributes; AVX2:
 *     intrinsics, 6 pixels x 16 channels with named accumulators (the generic 64-byte vectors compiled for
 *     AVX2 kept them in memory and ran ~15x slower).
 *   - in a resident program the AVX2 conv kernels apply the instruction's epilogue (affine, add, store, sign
 *     + pack) in registers as each 8-channel output vector is finished, in epilogue()'s order and roundings.
 * Threads: a small persistent pool (spin briefly, then sleep) splits output pixels (and, for layers with few
 * pixels, output channels) between threads; every output is computed by exactly one thread with the same
 * arithmetic, so results do not depend on the count.
 * Built by scripts/build-native.mjs (g++ directly, headers from the local Node installation, no download).
 */
#include <node_api.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// ------------------------------------------------------------------ thread pool

namespace {

// Work is split into chunks taken from an atomic counter, so a worker that is descheduled (a loaded machine)
// delays nothing: the others, the calling thread included, take its chunks. A worker that wakes after the
// call ended finds the job closed and goes back to waiting.
class Pool {
 public:
  int threads = 1;
  void resize(int n) {
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    stop();
    threads = n;
    quit_ = false;
    for (int t = 1; t < n; t++) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() { stop(); }
  // runs body on chunks [0, chunks) spread over the threads, returns when all chunks are done
  void run(const std::function<void(int)> &chunk, int chunks) {
    next_.store(0);
    chunks_ = chunks;
    {
      std::lock_guard<std::mutex> g(m_);
      job_ = &chunk;
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work(chunk);
    {
      std::lock_guard<std::mutex> g(m_);
      job_ = nullptr;  // late workers no longer join
    }
    for (int spins = 0; active_.load(std::memory_order_acquire) != 0; spins++) {
      if (spins < 2000) _mm_pause(); else std::this_thread::yield();
    }
  }

 private:
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> next_{0}, active_{0};
  int chunks_ = 0;
  const std::function<void(int)> *job_ = nullptr;
  bool quit_ = false;

  void work(const std::function<void(int)> &chunk) {
    for (int c; (c = next_.fetch_add(1, std::memory_order_acq_rel)) < chunks_;) chunk(c);
  }
  void stop() {
    {
      std::lock_guard<std::mutex> g(m_);
      quit_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto &w : workers_) w.join();
    workers_.clear();
  }
  void loop() {
    uint64_t seen = gen_.load();
    for (;;) {
      // spin a little (consecutive layers follow within microseconds), then sleep
      for (int spins = 0; gen_.load(std::memory_order_acquire) == seen && spins < 20000; spins++) _mm_pause();
      const std::function<void(int)> *job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return gen_.load() != seen; });
        seen = gen_.load();
        if (quit_) return;
        job = job_;
        if (job) active_.fetch_add(1);
      }
      if (job) {
        work(*job);
        active_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }
};

Pool pool;

// splits [0, n) into contiguous chunks shared out dynamically; small work runs on the calling thread.
// Chunks are small (up to 16 per thread, but no smaller than ~5e4 units of work so the atomic claim and the
// std::function call stay negligible): when a worker is descheduled mid-chunk, the others and the calling
// thread only wait for that one short chunk, not for a quarter of the thread's share.
std::mutex runMutex;  // one parallel region at a time (the addon may be loaded by several JS threads)
void parallelFor(int n, double work, const std::function<void(int, int)> &body) {
  int use = pool.threads;
  if (work < 2e5 || n < 2) use = 1;
  if (use <= 1) { body(0, n); return; }
  std::unique_lock<std::mutex> lk(runMutex, std::try_to_lock);
  if (!lk.owns_lock()) { body(0, n); return; }
  int64_t byWork = (int64_t)(work / 5e4);
  int64_t want = use * 16;
  if (want > byWork) want = byWork;
  if (want < use * 2) want = use * 2;
  int chunks = want < n ? (int)want : n;
  std::function<void(int)> fn = [&](int c) {
    int a = (int)((int64_t)n * c / chunks), b = (int)((int64_t)n * (c + 1) / chunks);
    if (a < b) body(a, b);
  };
  pool.run(fn, chunks);
}

enum Isa { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };
int isa = ISA_SCALAR;
void detectIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw")) isa = ISA_AVX512;
  else if (__builtin_cpu_supports("avx2")) isa = ISA_AVX2;
  else isa = ISA_SCALAR;
}

// ------------------------------------------------------------------ binary conv (XNOR-popcount)
// Weights are pre-arranged by prepBinary as wT[(tap * wpp + k) * coutPad + o] (coutPad = cout rounded up to
// 16, padded channels zero), followed by the per-tap weight popcounts [tap][coutPad] that the AVX2 kernel
// uses for 'zero' padding. For output pixel p, channel o: pop = sum over counted taps and words of
// popcount(x XOR w) with x = 0 for a padded tap in 'one' mode; dot = counted * C - 2 * pop.

// a program instruction's epilogue entry (see "resident programs" below): per-channel affine a*x+b, add of a
// same-shaped tensor, store, sign + pack
enum EpiKind { EPI_AFFINE = 0, EPI_ADD = 1, EPI_STORE = 2, EPI_PACK = 3 };
struct Epi { int kind = 0; const float *a = nullptr, *b = nullptr; float *outF = nullptr; uint32_t *outP = nullptr; int wpp = 0; size_t off = 0; /* STORE: outF holds elements from off on */ };

struct BGeom {
  const uint32_t *x; int H, W, wpp, C;
  const uint32_t *wT; int cout, coutPad, kernel, stride, pad, padOne, outH, outW;
  int32_t *acc;
  // optional output transform y = fp32(fp32(mul * acc) + bias)
  const float *mul, *bias; float *y;
  const uint32_t *xs = nullptr;   // AVX2: the input split into nibble halves with a zero border (withSplitInput)
  const int32_t *wpop = nullptr;  // [tap][coutPad] popcount of the tap's weight words (AVX2, 'zero' padding)
  // AVX2 in a program: the instruction's epilogue, applied in registers as each 8-channel output is finished
  const Epi *epi = nullptr; int nepi = 0;
};

// The epilogue applied in registers by the AVX2 conv kernels, in the order and roundings of epilogue():
// affine fp32(fp32(v*a) + b), add fp32(v + other), store, sign + pack (x < 0 ordered; 8 channels = one byte of
// the pixel's packed words). v = pixel p's channels ob..ob+8 of a C-channel output.
__attribute__((target("avx2"), always_inline)) inline void epiVecAvx2(const Epi *epi, int nepi, int p, int C, int ob, __m256 v) {
  const size_t at = (size_t)p * C + ob;
  for (int i = 0; i < nepi; i++) {
    const Epi &e = epi[i];
    switch (e.kind) {
      case EPI_AFFINE: v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_loadu_ps(e.a + ob)), _mm256_loadu_ps(e.b + ob)); break;
      case EPI_ADD: v = _mm256_add_ps(v, _mm256_loadu_ps(e.a + at)); break;
      case EPI_STORE: _mm256_storeu_ps(e.outF + (at - e.off), v); break;
      case EPI_PACK: ((uint8_t *)e.outP)[(size_t)p * e.wpp * 4 + ob / 8] = (uint8_t)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ)); break;
    }
  }
}
// the same for channel o = ob + l alone (a block's last lanes past a multiple of 8); lane 0 clears the byte
inline void epiLane(const Epi *epi, int nepi, int p, int C, int ob, int l, float v) {
  const int o = ob + l;
  const size_t at = (size_t)p * C + o;
  for (int i = 0; i < nepi; i++) {
    const Epi &e = epi[i];
    switch (e.kind) {
      case EPI_AFFINE: { float m = v * e.a[o]; v = m + e.b[o]; break; }
      case EPI_ADD: v = v + e.a[at]; break;
      case EPI_STORE: e.outF[at - e.off] = v; break;
      case EPI_PACK: {
        uint8_t *byte = (uint8_t *)e.outP + (size_t)p * e.wpp * 4 + ob / 8;
        if (l == 0) *byte = 0;
        *byte |= (uint8_t)((v < 0.0f) << l);
        break;
      }
    }
  }
}

inline void finishPixel(const BGeom &g, int p, int o, int counted, uint32_t pop) {
  int32_t d = counted * g.C - 2 * (int32_t)pop;
  size_t i = (size_t)p * g.cout + o;
  if (g.acc) g.acc[i] = d;
  if (g.y) g.y[i] = (float)((double)g.mul[o] * (double)d) + g.bias[o];
}

// x word for tap of pixel, or nullptr if out of bounds
inline const uint32_t *tapPtr(const BGeom &g, int oy, int ox, int ky, int kx) {
  int iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
  if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) return nullptr;
  return g.x + ((size_t)iy * g.W + ix) * g.wpp;
}

static const uint32_t ZERO_WORDS[4096] = {0};

__attribute__((target("avx512f,avx512bw,avx512vpopcntdq")))
void binaryRowsAvx512(const BGeom &g, int p0, int p1) {
  const int kk = g.kernel * g.kernel, wpp = g.wpp, CP = g.coutPad;
  const bool vecFinish = (double)kk * g.C < 16777216.0;
  std::vector<const uint32_t *> taps(kk);
  const int k = g.kernel, run = k * wpp;
  // interior pixel: every tap inside, so each kernel row's k*wpp words are contiguous in the input, as are the
  // matching weight rows (tap = ky*k + kx): one loop of k*wpp words per kernel row
  auto interior = [&](int p) {
    int oy = p / g.outW, ox = p % g.outW, iy0 = oy * g.stride - g.pad, ix0 = ox * g.stride - g.pad;
    return iy0 >= 0 && iy0 + k <= g.H && ix0 >= 0 && ix0 + k <= g.W;
  };
  auto rowPtr = [&](int p, int ky) {
    int oy = p / g.outW, ox = p % g.outW;
    return g.x + ((size_t)(oy * g.stride - g.pad + ky) * g.W + (ox * g.stride - g.pad)) * wpp;
  };
  for (int p = p0; p < p1; p++) {
    if (vecFinish && p + 1 < p1 && interior(p) && interior(p + 1)) {
      // two interior pixels (consecutive outputs): weight vectors loaded once for both
      for (int o0 = 0; o0 < CP; o0 += 64) {
        int nb = (CP - o0) / 16; if (nb > 4) nb = 4;
        __m512i a[2][4];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 4; j++) a[i][j] = _mm512_setzero_si512();
        for (int ky = 0; ky < k; ky++) {
          const uint32_t *x0 = rowPtr(p, ky), *x1 = rowPtr(p + 1, ky);
          const uint32_t *wt = g.wT + (size_t)ky * run * CP + o0;
          if (nb == 4) {
            for (int r = 0; r < run; r++, wt += CP) {
              __m512i u = _mm512_set1_epi32((int)x0[r]), v = _mm512_set1_epi32((int)x1[r]);
              __m512i w0 = _mm512_loadu_si512(wt), w1 = _mm512_loadu_si512(wt + 16), w2 = _mm512_loadu_si512(wt + 32), w3 = _mm512_loadu_si512(wt + 48);
              a[0][0] = _mm512_add_epi32(a[0][0], _mm512_popcnt_epi32(_mm512_xor_si512(u, w0)));
              a[0][1] = _mm512_add_epi32(a[0][1], _mm512_popcnt_epi32(_mm512_xor_si512(u, w1)));
              a[0][2] = _mm512_add_epi32(a[0][2], _mm512_popcnt_epi32(_mm512_xor_si512(u, w2)));
              a[0][3] = _mm512_add_epi32(a[0][3], _mm512_popcnt_epi32(_mm512_xor_si512(u, w3)));
              a[1][0] = _mm512_add_epi32(a[1][0], _mm512_popcnt_epi32(_mm512_xor_si512(v, w0)));
              a[1][1] = _mm512_add_epi32(a[1][1], _mm512_popcnt_epi32(_mm512_xor_si512(v, w1)));
              a[1][2] = _mm512_add_epi32(a[1][2], _mm512_popcnt_epi32(_mm512_xor_si512(v, w2)));
              a[1][3] = _mm512_add_epi32(a[1][3], _mm512_popcnt_epi32(_mm512_xor_si512(v, w3)));
            }
          } else {
            for (int r = 0; r < run; r++, wt += CP) {
              __m512i u = _mm512_set1_epi32((int)x0[r]), v = _mm512_set1_epi32((int)x1[r]);
              for (int j = 0; j < nb; j++) {
                __m512i w = _mm512_loadu_si512(wt + 16 * j);
                a[0][j] = _mm512_add_epi32(a[0][j], _mm512_popcnt_epi32(_mm512_xor_si512(u, w)));
                a[1][j] = _mm512_add_epi32(a[1][j], _mm512_popcnt_epi32(_mm512_xor_si512(v, w)));
              }
            }
          }
        }
        const __m512i base = _mm512_set1_epi32(kk * g.C);
        for (int i = 0; i < 2; i++) for (int j = 0; j < nb; j++) {
          int ob = o0 + 16 * j, n = g.cout - ob;
          if (n <= 0) break;
          __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
          __m512i d = _mm512_sub_epi32(base, _mm512_slli_epi32(a[i][j], 1));
          size_t at = (size_t)(p + i) * g.cout + ob;
          if (g.acc) _mm512_mask_storeu_epi32(g.acc + at, m, d);
          if (g.y) {
            __m512 pr = _mm512_mul_ps(_mm512_cvtepi32_ps(d), _mm512_maskz_loadu_ps(m, g.mul + ob));
            _mm512_mask_storeu_ps(g.y + at, m, _mm512_add_ps(pr, _mm512_maskz_loadu_ps(m, g.bias + ob)));
          }
        }
      }
      p++;
      continue;
    }
    int oy = p / g.outW, ox = p % g.outW, counted = 0;
    for (int ky = 0; ky < g.kernel; ky++) for (int kx = 0; kx < g.kernel; kx++) {
      const uint32_t *t = tapPtr(g, oy, ox, ky, kx);
      if (!t && g.padOne) t = ZERO_WORDS;
      taps[ky * g.kernel + kx] = t;
      if (t) counted++;
    }
    for (int o0 = 0; o0 < CP; o0 += 64) {
      int nb = (CP - o0) / 16; if (nb > 4) nb = 4;
      __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
      for (int t = 0; t < kk; t++) {
        const uint32_t *xt = taps[t];
        if (!xt) continue;
        const uint32_t *wt = g.wT + (size_t)t * wpp * CP + o0;
        if (nb == 4) {
          for (int k = 0; k < wpp; k++, wt += CP) {
            __m512i xv = _mm512_set1_epi32((int)xt[k]);
            a0 = _mm512_add_epi32(a0, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt))));
            a1 = _mm512_add_epi32(a1, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt + 16))));
            a2 = _mm512_add_epi32(a2, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt + 32))));
            a3 = _mm512_add_epi32(a3, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt + 48))));
          }
        } else {
          for (int k = 0; k < wpp; k++, wt += CP) {
            __m512i xv = _mm512_set1_epi32((int)xt[k]);
            a0 = _mm512_add_epi32(a0, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt))));
            if (nb > 1) a1 = _mm512_add_epi32(a1, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt + 16))));
            if (nb > 2) a2 = _mm512_add_epi32(a2, _mm512_popcnt_epi32(_mm512_xor_si512(xv, _mm512_loadu_si512(wt + 32))));
          }
        }
      }
      if (vecFinish) {
        const __m512i base = _mm512_set1_epi32(counted * g.C);
        __m512i av[4] = {a0, a1, a2, a3};
        for (int j = 0; j < nb; j++) {
          int ob = o0 + 16 * j, n = g.cout - ob;
          if (n <= 0) break;
          __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
          __m512i d = _mm512_sub_epi32(base, _mm512_slli_epi32(av[j], 1));
          size_t i = (size_t)p * g.cout + ob;
          if (g.acc) _mm512_mask_storeu_epi32(g.acc + i, m, d);
          if (g.y) {
            // |d| < 2^24: exact in fp32, so the fp32 product is the spec's fp32(mul * acc); then + bias in fp32
            __m512 pr = _mm512_mul_ps(_mm512_cvtepi32_ps(d), _mm512_maskz_loadu_ps(m, g.mul + ob));
            _mm512_mask_storeu_ps(g.y + i, m, _mm512_add_ps(pr, _mm512_maskz_loadu_ps(m, g.bias + ob)));
          }
        }
      } else {
        alignas(64) uint32_t pops[64];
        _mm512_store_si512(pops, a0); _mm512_store_si512(pops + 16, a1);
        _mm512_store_si512(pops + 32, a2); _mm512_store_si512(pops + 48, a3);
        int oe = o0 + nb * 16; if (oe > g.cout) oe = g.cout;
        for (int o = o0; o < oe; o++) finishPixel(g, p, o, counted, pops[o - o0]);
      }
    }
  }
}

// AVX2 XNOR-popcount (no vector popcount): lanes = 8 output channels of 32 bits, each byte counted with the
// 16-entry nibble table (vpshufb). popcount(x ^ w) = popcount(xL ^ wL) + popcount(xH ^ wH) where
// vL = v & 0x0f0f0f0f and vH = (v >> 4) & 0x0f0f0f0f, because xor commutes with the bit selection. The input
// is split once per call (withSplitInput, pairs (xL, xH)) and each weight row once per tile step, shared by the
// tile's pixels, so a word costs 2 xor + 2 shuffles + 2 byte adds per pixel and 8 channels. Byte counters hold
// at most 8 per word, so they are widened to 32-bit lanes (maddubs + madd: sum of the lane's 4 bytes) every 31
// words (31 * 8 < 256). The split input carries a border of zero words (pad on every side), so every output
// pixel's window is one rectangle of the buffer and all pixels go through the same 4-pixel tile. A border
// tap then adds popcount(0 ^ w) = popcount(w): right for 'one' padding (a padded tap is a zero word); for
// 'zero' padding (the tap is skipped) it is taken off again with the per-tap weight popcounts prepBinary stores.

__attribute__((target("avx2"), always_inline)) inline __m256i nibbleLut() {
  return _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
}
// byte counters -> 32-bit lane sums
__attribute__((target("avx2"), always_inline)) inline __m256i widenBytes(__m256i c) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(c, _mm256_set1_epi8(1)), _mm256_set1_epi16(1));
}

// padded extent of the split input
inline int paddedH(const BGeom &g) { int a = g.H + 2 * g.pad, b = (g.outH - 1) * g.stride + g.kernel; return a > b ? a : b; }
inline int paddedW(const BGeom &g) { int a = g.W + 2 * g.pad, b = (g.outW - 1) * g.stride + g.kernel; return a > b ? a : b; }

// outputs of pixel p, channels ob..ob+8 (all < cout): acc d, raw y = v (unless only the epilogue reads it),
// then the fused epilogue on v
__attribute__((target("avx2"), always_inline)) inline void emitAvx2(const BGeom &g, int p, int ob, __m256i d, __m256 v) {
  const size_t at = (size_t)p * g.cout + ob;
  if (g.acc) _mm256_storeu_si256((__m256i *)(g.acc + at), d);
  if (g.y) _mm256_storeu_ps(g.y + at, v);
  epiVecAvx2(g.epi, g.nepi, p, g.cout, ob, v);
}
// the same for the first n <= 8 channels from ob, one lane at a time (d and v as finishPixel computes them)
inline void emitPartial(const BGeom &g, int p, int ob, int counted, const uint32_t *pops, int n) {
  for (int l = 0; l < n; l++) {
    const int o = ob + l;
    const int32_t d = counted * g.C - 2 * (int32_t)pops[l];
    const size_t at = (size_t)p * g.cout + o;
    const float v = g.mul ? (float)((double)g.mul[o] * (double)d) + g.bias[o] : 0.0f;
    if (g.acc) g.acc[at] = d;
    if (g.y) g.y[at] = v;
    epiLane(g.epi, g.nepi, p, g.cout, ob, l, v);
  }
}

// pixel p, channels ob..ob+8, pop over the whole window of the padded input: border taps taken off ('zero'
// padding), then dot = counted*C - 2*pop, y = fp32(fp32(mul*dot) + bias), emitted
__attribute__((target("avx2"))) void finishAvx2(const BGeom &g, int p, int ob, __m256i pop) {
  if (ob >= g.cout) return;
  const int k = g.kernel, iy0 = p / g.outW * g.stride - g.pad, ix0 = p % g.outW * g.stride - g.pad;
  int counted = k * k;
  if (!g.padOne && (iy0 < 0 || iy0 + k > g.H || ix0 < 0 || ix0 + k > g.W)) {
    for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
      const int iy = iy0 + ky, ix = ix0 + kx;
      if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) continue;
      counted--;
      pop = _mm256_sub_epi32(pop, _mm256_loadu_si256((const __m256i *)(g.wpop + (size_t)(ky * k + kx) * g.coutPad + ob)));
    }
  }
  if (ob + 8 > g.cout || (double)counted * g.C >= 16777216.0) {
    alignas(32) uint32_t pops[8];
    _mm256_store_si256((__m256i *)pops, pop);
    emitPartial(g, p, ob, counted, pops, ob + 8 > g.cout ? g.cout - ob : 8);
    return;
  }
  const __m256i d = _mm256_sub_epi32(_mm256_set1_epi32(counted * g.C), _mm256_slli_epi32(pop, 1));
  // |d| < 2^24: exact in fp32, so the fp32 product is the spec's fp32(mul * acc); then + bias in fp32
  const __m256 v = g.mul ? _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d), _mm256_loadu_ps(g.mul + ob)), _mm256_loadu_ps(g.bias + ob)) : _mm256_setzero_ps();
  emitAvx2(g, p, ob, d, v);
}

// interior pixel, 8 channels from ob (all < cout), |dot| < 2^24: the common case of finishAvx2, inline
__attribute__((target("avx2"), always_inline)) inline void finishFastAvx2(const BGeom &g, int p, int ob, __m256i pop) {
  const __m256i d = _mm256_sub_epi32(_mm256_set1_epi32(g.kernel * g.kernel * g.C), _mm256_slli_epi32(pop, 1));
  const __m256 v = g.mul ? _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(d), _mm256_loadu_ps(g.mul + ob)), _mm256_loadu_ps(g.bias + ob)) : _mm256_setzero_ps();
  emitAvx2(g, p, ob, d, v);
}

// 4 pixels (base[i] = split padded input at the window's top-left) x 16 channels from o0. Per word: 8 input
// broadcasts, 4 weight loads, 16 xor + 16 shuffles + 16 byte adds; 8 byte accumulators + 4 weight vectors +
// the table + 2 temporaries = 15 ymm registers. Named accumulators (an array would be kept in memory).
// kind[i]: 0 = interior (inline finish), 1 = edge or partial block (finishAvx2), -1 = padding lane.
__attribute__((target("avx2"))) void binaryTileAvx2(const BGeom &g, const uint32_t *const *base, const int *pix, const int *kind, int o0) {
  const int k = g.kernel, run = k * g.wpp, CP = g.coutPad;
  const size_t rowStride = (size_t)paddedW(g) * g.wpp * 2;
  const __m256i lut = nibbleLut(), low = _mm256_set1_epi8(0x0f);
  __m256i s00 = _mm256_setzero_si256(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
  __m256i t[4][2];
  for (int i = 0; i < 4; i++) t[i][0] = t[i][1] = _mm256_setzero_si256();
  const uint32_t *wr = g.wT + o0;
  int cnt = 0;
#define BR_W(T, S) T = _mm256_add_epi32(T, widenBytes(S));
#define BR_WIDEN()                                                                                          \
  BR_W(t[0][0], s00) BR_W(t[0][1], s01) BR_W(t[1][0], s10) BR_W(t[1][1], s11)                               \
  BR_W(t[2][0], s20) BR_W(t[2][1], s21) BR_W(t[3][0], s30) BR_W(t[3][1], s31)                               \
  s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = _mm256_setzero_si256();
  // widening: after every rowsPer whole window rows when a row has at most 31 words, else after every piece
  // of at most 31 words of a row (the loops stay simple; a few more widenings than strictly needed)
  const int rowsPer = run <= 31 ? 31 / run : 0;
  for (int ky = 0; ky < k; ky++) {
    const size_t off = ky * rowStride;
    const uint32_t *p0 = base[0] + off, *p1 = base[1] + off, *p2 = base[2] + off, *p3 = base[3] + off;
    for (int r = 0; r < run;) {
      const int e = rowsPer ? run : (run - r < 31 ? run : r + 31);
      for (; r < e; r++, wr += CP) {
        // the weight row split into nibble halves here (2 loads + 6 ops, shared by the 4 pixels) measured as
        // fast as loading pre-split halves (4 loads), with half the weight bytes
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)wr), w1 = _mm256_loadu_si256((const __m256i *)(wr + 8));
        const __m256i wL0 = _mm256_and_si256(w0, low), wL1 = _mm256_and_si256(w1, low);
        const __m256i wH0 = _mm256_and_si256(_mm256_srli_epi16(w0, 4), low), wH1 = _mm256_and_si256(_mm256_srli_epi16(w1, 4), low);
#define BR_BSTEP(P, S0, S1)                                                                                  \
  {                                                                                                         \
    const __m256i xl = _mm256_set1_epi32((int)P[2 * r]);                                                    \
    S0 = _mm256_add_epi8(S0, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xl, wL0)));                          \
    S1 = _mm256_add_epi8(S1, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xl, wL1)));                          \
    const __m256i xh = _mm256_set1_epi32((int)P[2 * r + 1]);                                                \
    S0 = _mm256_add_epi8(S0, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xh, wH0)));                          \
    S1 = _mm256_add_epi8(S1, _mm256_shuffle_epi8(lut, _mm256_xor_si256(xh, wH1)));                          \
  }
        BR_BSTEP(p0, s00, s01) BR_BSTEP(p1, s10, s11) BR_BSTEP(p2, s20, s21) BR_BSTEP(p3, s30, s31)
#undef BR_BSTEP
      }
      if (!rowsPer || ++cnt == rowsPer) { BR_WIDEN() cnt = 0; }
    }
  }
  BR_WIDEN()
#undef BR_WIDEN
#undef BR_W
  for (int i = 0; i < 4; i++) for (int j = 0; j < 2; j++) {
    if (kind[i] < 0) continue;
    const int ob = o0 + 8 * j;
    if (kind[i] == 0 && ob + 8 <= g.cout) finishFastAvx2(g, pix[i], ob, t[i][j]);
    else finishAvx2(g, pix[i], ob, t[i][j]);
  }
}

__attribute__((target("avx2"))) void binaryRowsAvx2(const BGeom &g, int p0, int p1, int oa, int ob) {
  const int k = g.kernel, tiles = (p1 - p0 + 3) / 4;
  const size_t pixStride = (size_t)g.wpp * 2, Wp = paddedW(g);
  const bool vec = (double)k * k * g.C < 16777216.0;
  // per-thread scratch, kept between calls (no allocation per work item)
  thread_local std::vector<const uint32_t *> base;
  thread_local std::vector<int> pix, kind;
  base.resize(4 * tiles); pix.resize(4 * tiles); kind.resize(4 * tiles);
  for (int i = 0; i < 4 * tiles; i++) {
    const int p = p0 + i, q = p < p1 ? p : p0;  // padding lanes: computed, not stored
    const int oy = q / g.outW, ox = q % g.outW, iy0 = oy * g.stride - g.pad, ix0 = ox * g.stride - g.pad;
    pix[i] = q;
    kind[i] = p >= p1 ? -1 : (vec && iy0 >= 0 && iy0 + k <= g.H && ix0 >= 0 && ix0 + k <= g.W) ? 0 : 1;
    base[i] = g.xs + ((size_t)oy * g.stride * Wp + (size_t)ox * g.stride) * pixStride;
  }
  // blocks of 16 tiles (64 pixels), channel blocks inside: one block's weights (k*k*wpp rows of 64 bytes)
  // stay in L1 across the tiles of a block, as do the input rows the block reads
  for (int t0 = 0; t0 < tiles; t0 += 16) {
    const int t1 = t0 + 16 < tiles ? t0 + 16 : tiles;
    for (int o0 = oa; o0 < ob; o0 += 16)
      for (int t = t0; t < t1; t++) binaryTileAvx2(g, &base[4 * t], &pix[4 * t], &kind[4 * t], o0);
  }
}

// the AVX2 kernel reads the split input with its zero border: made once per call on the calling thread, in a
// buffer of that thread's own
thread_local std::vector<uint32_t> splitBuf;
__attribute__((target("avx2"))) void splitRowAvx2(const uint32_t *x, size_t n, uint32_t *xs) {
  for (size_t i = 0; i < n; i++) { xs[2 * i] = x[i] & 0x0f0f0f0fu; xs[2 * i + 1] = (x[i] >> 4) & 0x0f0f0f0fu; }
}
BGeom withSplitInput(const BGeom &g0) {
  BGeom g = g0;
  if (isa != ISA_AVX2) return g;
  const size_t Hp = paddedH(g), Wp = paddedW(g), pw = (size_t)g.wpp * 2, n = Hp * Wp * pw;
  if (splitBuf.size() < n) splitBuf.resize(n);
  uint32_t *xs = splitBuf.data();
  memset(xs, 0, n * 4);
  for (int y = 0; y < g.H; y++) splitRowAvx2(g.x + (size_t)y * g.W * g.wpp, (size_t)g.W * g.wpp, xs + ((y + g.pad) * Wp + g.pad) * pw);
  g.xs = xs;
  return g;
}

void binaryRowsScalar(const BGeom &g, int p0, int p1) {
  const int kk = g.kernel * g.kernel, wpp = g.wpp, CP = g.coutPad;
  std::vector<const uint32_t *> taps(kk);
  std::vector<uint32_t> pops(CP);
  for (int p = p0; p < p1; p++) {
    int oy = p / g.outW, ox = p % g.outW, counted = 0;
    for (int ky = 0; ky < g.kernel; ky++) for (int kx = 0; kx < g.kernel; kx++) {
      const uint32_t *t = tapPtr(g, oy, ox, ky, kx);
      if (!t && g.padOne) t = ZERO_WORDS;
      taps[ky * g.kernel + kx] = t;
      if (t) counted++;
    }
    std::fill(pops.begin(), pops.end(), 0u);
    for (int t = 0; t < kk; t++) {
      const uint32_t *xt = taps[t];
      if (!xt) continue;
      for (int k = 0; k < wpp; k++) {
        const uint32_t *wt = g.wT + ((size_t)t * wpp + k) * CP;
        uint32_t xv = xt[k];
        for (int o = 0; o < g.cout; o++) pops[o] += (uint32_t)__builtin_popcount(xv ^ wt[o]);
      }
    }
    for (int o = 0; o < g.cout; o++) finishPixel(g, p, o, counted, pops[o]);
  }
}

// Work items of a conv: pixel groups of G (whole tiles) x parts of the channel blocks of 16. Layers with few
// pixels (stage 4: 49) would give a thread only a handful of groups, so on several threads their channels
// are split too (AVX2 kernels, which take a channel range), until there are at least 8 items per thread.
struct ConvSplit {
  int P, G, groups, parts, blocks;
  int items() const { return groups * parts; }
  void range(int item, int &p0, int &p1, int &oa, int &ob) const {
    const int grp = item / parts, part = item % parts;
    p0 = grp * G; p1 = p0 + G < P ? p0 + G : P;
    oa = blocks * part / parts * 16; ob = blocks * (part + 1) / parts * 16;
  }
};
ConvSplit convSplit(int P, int G, int coutPad) {
  ConvSplit c{P, G, (P + G - 1) / G, 1, coutPad / 16};
  if (isa == ISA_AVX2 && pool.threads > 1)
    while (c.groups * c.parts < 8 * pool.threads && c.parts * 2 <= c.blocks) c.parts *= 2;
  return c;
}

// pixels [a, b), channels [oa, ob) (the AVX-512 and scalar kernels do all channels) on the running ISA
void binaryRows(const BGeom &g, int a, int b, int oa, int ob) {
  if (isa == ISA_AVX512) binaryRowsAvx512(g, a, b);
  else if (isa == ISA_AVX2) binaryRowsAvx2(g, a, b, oa, ob);
  else binaryRowsScalar(g, a, b);
}

void binaryConvRun(const BGeom &g0) {
  const BGeom g = withSplitInput(g0);
  int P = g.outH * g.outW;
  double work = (double)P * g.coutPad * g.kernel * g.kernel * g.wpp;
  // pixels shared out in groups of 8 (two AVX2 tiles; pairs for AVX-512)
  const ConvSplit cs = convSplit(P, 8, g.coutPad);
  parallelFor(cs.items(), work, [&](int a, int b) {
    for (int i = a; i < b; i++) {
      int p0, p1, oa, ob;
      cs.range(i, p0, p1, oa, ob);
      binaryRows(g, p0, p1, oa, ob);
    }
  });
}

// ------------------------------------------------------------------ fp32 conv / fc
// Weights pre-arranged by prepFloat as wT[k * coutPad + o], k = (ky * kernel + kx) * C + c, coutPad = cout
// rounded up to 16. Lanes = output channels; each lane's sum runs k ascending over in-bounds taps.

typedef float v16f __attribute__((vector_size(64)));

struct FGeom {
  const float *x; int H, W, C;
  const float *wT; const float *bias; int cout, coutPad, kernel, stride, pad, outH, outW;
  float *y;  // nullptr: only the (fused) epilogue reads the output
  const Epi *epi = nullptr; int nepi = 0;  // AVX2 in a program: the instruction's epilogue, fused
};

// PX pixels x NB blocks of 16 channels; taps[] per pixel: input pointer or nullptr (skipped)
template <int PX, int NB>
__attribute__((always_inline)) inline void floatTile(const FGeom &g, const int *pix, int npx, int o0, int nb) {
  const int kk = g.kernel * g.kernel, C = g.C, CP = g.coutPad;
  v16f acc[PX][NB];
  for (int i = 0; i < PX; i++) for (int j = 0; j < NB; j++) acc[i][j] = (v16f){};
  const int kw = g.kernel;
  for (int ky = 0; ky < kw; ky++) {
    // fast path: every pixel's whole row of taps (kx = 0..k-1) inside the image, so its (kx, c) values are one
    // contiguous run of k*C floats, in the spec's order, against the run of weight rows k = (ky*k + kx)*C + c
    const float *rows[PX];
    bool full = npx == PX;
    for (int i = 0; i < PX && full; i++) {
      int oy = pix[i] / g.outW, ox = pix[i] % g.outW;
      int iy = oy * g.stride - g.pad + ky, ix0 = ox * g.stride - g.pad;
      if (iy < 0 || iy >= g.H || ix0 < 0 || ix0 + kw > g.W) full = false;
      else rows[i] = g.x + ((size_t)iy * g.W + ix0) * C;
    }
    if (full) {
      const int run = kw * C;
      const float *wt = g.wT + (size_t)ky * run * CP + o0;
      for (int r = 0; r < run; r++, wt += CP) {
        v16f w[NB];
        for (int j = 0; j < NB; j++) memcpy(&w[j], wt + 16 * j, 64);
        for (int i = 0; i < PX; i++) {
          float xv = rows[i][r];
          for (int j = 0; j < NB; j++) { v16f pr = w[j] * xv; acc[i][j] = acc[i][j] + pr; }
        }
      }
      continue;
    }
    for (int kx = 0; kx < kw; kx++) {
      const int t = ky * kw + kx;
      const float *xs[PX];
      for (int i = 0; i < PX; i++) {
        xs[i] = nullptr;
        if (i < npx) {
          int oy = pix[i] / g.outW, ox = pix[i] % g.outW;
          int iy = oy * g.stride - g.pad + ky, ix = ox * g.stride - g.pad + kx;
          if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) xs[i] = g.x + ((size_t)iy * g.W + ix) * C;
        }
      }
      const float *wt = g.wT + (size_t)t * C * CP + o0;
      for (int c = 0; c < C; c++, wt += CP) {
        for (int i = 0; i < PX; i++) {
          if (!xs[i]) continue;
          float xv = xs[i][c];
          for (int j = 0; j < nb && j < NB; j++) { v16f w; memcpy(&w, wt + 16 * j, 64); v16f pr = w * xv; acc[i][j] = acc[i][j] + pr; }
        }
      }
    }
  }
  for (int i = 0; i < npx; i++) for (int j = 0; j < nb && j < NB; j++) {
    alignas(64) float r[16];
    memcpy(r, &acc[i][j], 64);
    int ob = o0 + 16 * j;
    for (int l = 0; l < 16 && ob + l < g.cout; l++) {
      float v = r[l];
      if (g.bias) v = v + g.bias[ob + l];
      g.y[(size_t)pix[i] * g.cout + ob + l] = v;
    }
  }
}

// AVX2 fp32 conv. Same per-lane order as floatTile: acc = acc + fp32(w * x) for k = (ky*k + kx)*C + c
// ascending over in-bounds taps (mul and add separate: no FMA), then + bias. Interior pixels (whole window
// inside the image) go in tiles of PX pixels x NB blocks of 8 channels whose accumulators, NB weight vectors,
// the broadcast input and one product fit the 16 ymm registers (6 x 2: 12 + 2 + 2); a window row of an
// interior pixel is one contiguous run of k*C floats against k*C consecutive weight rows. Edge pixels go one
// at a time: each kernel row's in-bounds taps are still one contiguous run (kx0..kx1).
// pixel p, channels ob..ob+8: v = acc + bias, stored as the raw output and passed through the fused epilogue
__attribute__((target("avx2"), always_inline)) inline void storeAvx2(const FGeom &g, int p, int ob, __m256 v) {
  const size_t at = (size_t)p * g.cout + ob;
  if (ob + 8 <= g.cout) {
    if (g.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(g.bias + ob));
    if (g.y) _mm256_storeu_ps(g.y + at, v);
    epiVecAvx2(g.epi, g.nepi, p, g.cout, ob, v);
  } else {
    alignas(32) float r[8];
    _mm256_store_ps(r, v);
    for (int l = 0; ob + l < g.cout; l++) {
      const float w = g.bias ? r[l] + g.bias[ob + l] : r[l];
      if (g.y) g.y[at + l] = w;
      epiLane(g.epi, g.nepi, p, g.cout, ob, l, w);
    }
  }
}

// 6 interior pixels (x at their window's top-left corner; pix = their output pixels, -1 = padding lane),
// channels o0 .. o0+16. The accumulators are named variables: with an array GCC keeps them in memory and
// stores all twelve on every step.
__attribute__((target("avx2"))) void floatTileAvx2(const FGeom &g, const float *const *base, const int *pix, int o0) {
  const int C = g.C, CP = g.coutPad, kw = g.kernel, run = kw * C;
  const size_t rowStride = (size_t)g.W * C;
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
  __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
  const float *r0 = base[0], *r1 = base[1], *r2 = base[2], *r3 = base[3], *r4 = base[4], *r5 = base[5];
  const float *wt = g.wT + o0;
  for (int ky = 0; ky < kw; ky++) {
    for (int r = 0; r < run; r++, wt += CP) {
      const __m256 w0 = _mm256_loadu_ps(wt), w1 = _mm256_loadu_ps(wt + 8);
      __m256 xv;
#define BR_STEP(R, A0, A1) xv = _mm256_broadcast_ss(R + r); A0 = _mm256_add_ps(A0, _mm256_mul_ps(w0, xv)); A1 = _mm256_add_ps(A1, _mm256_mul_ps(w1, xv));
      BR_STEP(r0, a00, a01) BR_STEP(r1, a10, a11) BR_STEP(r2, a20, a21)
      BR_STEP(r3, a30, a31) BR_STEP(r4, a40, a41) BR_STEP(r5, a50, a51)
#undef BR_STEP
    }
    r0 += rowStride; r1 += rowStride; r2 += rowStride; r3 += rowStride; r4 += rowStride; r5 += rowStride;
  }
  const __m256 acc[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
  for (int i = 0; i < 6; i++) {
    if (pix[i] < 0) continue;
    for (int j = 0; j < 2 && o0 + 8 * j < g.cout; j++) storeAvx2(g, pix[i], o0 + 8 * j, acc[i][j]);
  }
}

// one pixel (edge or lone), channels o0 .. o0 + 8*NB
template <int NB>
__attribute__((target("avx2"), always_inline)) inline void floatPixelAvx2(const FGeom &g, int p, int o0) {
  const int C = g.C, CP = g.coutPad, kw = g.kernel;
  const int iy0 = p / g.outW * g.stride - g.pad, ix0 = p % g.outW * g.stride - g.pad;
  const int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + kw > g.W ? g.W - ix0 : kw;
  __m256 a[NB];
  for (int j = 0; j < NB; j++) a[j] = _mm256_setzero_ps();
  for (int ky = 0; ky < kw; ky++) {
    const int iy = iy0 + ky;
    if (iy < 0 || iy >= g.H || kx0 >= kx1) continue;
    const float *xs = g.x + ((size_t)iy * g.W + ix0 + kx0) * C;
    const float *wt = g.wT + (size_t)(ky * kw + kx0) * C * CP + o0;
    const int n = (kx1 - kx0) * C;
    for (int r = 0; r < n; r++, wt += CP) {
      __m256 xv = _mm256_broadcast_ss(xs + r);
      for (int j = 0; j < NB; j++) a[j] = _mm256_add_ps(a[j], _mm256_mul_ps(_mm256_loadu_ps(wt + 8 * j), xv));
    }
  }
  for (int j = 0; j < NB && o0 + 8 * j < g.cout; j++) storeAvx2(g, p, o0 + 8 * j, a[j]);
}

__attribute__((target("avx2"))) void floatPixelAllAvx2(const FGeom &g, int p, int o0a, int o0b) {
  int o0 = o0a;
  for (; o0 + 64 <= o0b; o0 += 64) floatPixelAvx2<8>(g, p, o0);
  for (; o0 < o0b; o0 += 16) floatPixelAvx2<2>(g, p, o0);
}

__attribute__((target("avx2"))) void floatRowsAvx2(const FGeom &g, int p0, int p1, int oa, int ob) {
  const int kw = g.kernel;
  // interior pixels in tiles of 6 (the last one padded with lanes computed and not stored); edge pixels alone
  thread_local std::vector<const float *> base;  // per-thread scratch, kept between calls
  thread_local std::vector<int> pix;
  base.clear(); pix.clear();
  for (int p = p0; p < p1; p++) {
    const int iy0 = p / g.outW * g.stride - g.pad, ix0 = p % g.outW * g.stride - g.pad;
    if (iy0 < 0 || iy0 + kw > g.H || ix0 < 0 || ix0 + kw > g.W) { floatPixelAllAvx2(g, p, oa, ob); continue; }
    base.push_back(g.x + ((size_t)iy0 * g.W + ix0) * g.C);
    pix.push_back(p);
  }
  if (base.empty()) return;
  while (base.size() % 6) { base.push_back(base[0]); pix.push_back(-1); }
  // blocks of 8 tiles, channel blocks inside: a channel block's weight rows (k*k*C rows of 64 bytes) stay in
  // L1 across the tiles of a block (the 1x1 convs of the downsample shortcuts stream 512 KB otherwise)
  const int tiles = (int)base.size() / 6;
  for (int t0 = 0; t0 < tiles; t0 += 8) {
    const int t1 = t0 + 8 < tiles ? t0 + 8 : tiles;
    for (int o0 = oa; o0 < ob; o0 += 16)
      for (int t = t0; t < t1; t++) floatTileAvx2(g, &base[6 * t], &pix[6 * t], o0);
  }
}
__attribute__((target("avx2"))) void floatVecAvx2(const FGeom &g, int o0a, int o0b) { floatPixelAllAvx2(g, 0, o0a, o0b); }

// one function body per ISA: the vector code is generated for each target
#define FLOAT_ROWS_BODY                                                                         \
  {                                                                                             \
    const int CP = g.coutPad;                                                                   \
    for (int p = p0; p < p1; p += 4) {                                                          \
      int pix[4], npx = 0;                                                                      \
      for (int i = 0; i < 4 && p + i < p1; i++) pix[npx++] = p + i;                              \
      int o0 = 0;                                                                               \
      for (; o0 + 64 <= CP; o0 += 64) floatTile<4, 4>(g, pix, npx, o0, 4);                    \
      if (o0 < CP) floatTile<4, 4>(g, pix, npx, o0, (CP - o0) / 16);                            \
    }                                                                                           \
  }
#define FLOAT_VEC_BODY                                                                          \
  {                                                                                             \
    int pix[1] = {0};                                                                           \
    for (int o0 = o0a; o0 < o0b; o0 += 128) {                                                   \
      int nb = (o0b - o0) / 16; if (nb > 8) nb = 8;                                             \
      floatTile<1, 8>(g, pix, 1, o0, nb);                                                       \
    }                                                                                           \
  }

__attribute__((target("avx512f"))) void floatRowsAvx512(const FGeom &g, int p0, int p1) FLOAT_ROWS_BODY
void floatRowsScalar(const FGeom &g, int p0, int p1) FLOAT_ROWS_BODY
__attribute__((target("avx512f"))) void floatVecAvx512(const FGeom &g, int o0a, int o0b) FLOAT_VEC_BODY
void floatVecScalar(const FGeom &g, int o0a, int o0b) FLOAT_VEC_BODY

// pixels [p0, p1), channels [oa, ob) (the AVX-512 and scalar kernels do all channels) on the running ISA
void floatRows(const FGeom &g, int p0, int p1, int oa, int ob) {
  if (isa >= ISA_AVX512) floatRowsAvx512(g, p0, p1);
  else if (isa == ISA_AVX2) floatRowsAvx2(g, p0, p1, oa, ob);
  else floatRowsScalar(g, p0, p1);
}

void realConvRun(const FGeom &g) {
  int P = g.outH * g.outW;
  double work = (double)P * g.coutPad * g.kernel * g.kernel * g.C;
  if (P == 1) {
    // one pixel (fc): split the channel blocks of 128 between threads
    int blocks = (g.coutPad + 127) / 128;
    parallelFor(blocks, work, [&](int a, int b) {
      int o0a = a * 128, o0b = b * 128 < g.coutPad ? b * 128 : g.coutPad;
      if (isa >= ISA_AVX512) floatVecAvx512(g, o0a, o0b);
      else if (isa == ISA_AVX2) floatVecAvx2(g, o0a, o0b);
      else floatVecScalar(g, o0a, o0b);
    });
    return;
  }
  // pixels are shared out in groups of 12 (a whole number of tiles for both ISAs: 4 for AVX-512, 6 for AVX2)
  const ConvSplit cs = convSplit(P, 12, g.coutPad);
  parallelFor(cs.items(), work, [&](int a, int b) {
    for (int i = a; i < b; i++) {
      int p0, p1, oa, ob;
      cs.range(i, p0, p1, oa, ob);
      floatRows(g, p0, p1, oa, ob);
    }
  });
}

// ------------------------------------------------------------------ element ops (golden ops' specs)

#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
CLONES void bnRows(const float *x, int C, const float *s, const float *t, float *y, int a, int b) {
  for (int p = a; p < b; p++) {
    const float *xp = x + (size_t)p * C; float *yp = y + (size_t)p * C;
    for (int c = 0; c < C; c++) { float m = xp[c] * s[c]; yp[c] = m + t[c]; }
  }
}
CLONES void addRange(const float *a, const float *b, float *y, size_t i0, size_t i1) {
  for (size_t i = i0; i < i1; i++) y[i] = a[i] + b[i];
}
CLONES void maxInto(float *acc, const float *xp, int C) { for (int c = 0; c < C; c++) { float v = xp[c]; acc[c] = v > acc[c] ? v : acc[c]; } }
CLONES void sumInto(float *acc, const float *xp, int C) { for (int c = 0; c < C; c++) acc[c] = acc[c] + xp[c]; }

void bnRun(const float *x, int pixels, int C, const float *s, const float *t, float *y) {
  parallelFor(pixels, (double)pixels * C, [&](int a, int b) {
    bnRows(x, C, s, t, y, a, b);
  });
}

void addRun(const float *a, const float *b, size_t n, float *y) {
  int chunks = (int)((n + 4095) / 4096);
  parallelFor(chunks, (double)n, [&](int c0, int c1) {
    size_t e = (size_t)c1 * 4096 < n ? (size_t)c1 * 4096 : n;
    addRange(a, b, y, (size_t)c0 * 4096, e);
  });
}

__attribute__((target("avx512f")))
void signPackAvx512(const float *x, int C, int wpp, uint32_t *w, int a, int b) {
  const __m512 zero = _mm512_setzero_ps();
  for (int p = a; p < b; p++) {
    const float *xp = x + (size_t)p * C; uint32_t *wp = w + (size_t)p * wpp;
    for (int k = 0; k < wpp; k++) {
      int c0 = k * 32, n = C - c0 < 32 ? C - c0 : 32;
      __mmask16 m0 = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
      __mmask16 m1 = n >= 32 ? (__mmask16)0xffff : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : (__mmask16)0;
      // x < 0 (ordered: NaN and -0 give 0), the spec's signBit
      __mmask16 lo = _mm512_mask_cmp_ps_mask(m0, _mm512_maskz_loadu_ps(m0, xp + c0), zero, _CMP_LT_OQ);
      __mmask16 hi = _mm512_mask_cmp_ps_mask(m1, _mm512_maskz_loadu_ps(m1, xp + c0 + 16), zero, _CMP_LT_OQ);
      wp[k] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
  }
}

// sign + bit-pack of n pixels (packSigns: bit 1 for x < 0; NaN and -0 give 0)
// AVX2 sign + pack: 8 channels per compare; x < 0 ordered (NaN and -0 give 0), the spec's signBit
__attribute__((target("avx2"))) void signPackAvx2(const float *x, int C, int wpp, uint32_t *w, int n) {
  const __m256 zero = _mm256_setzero_ps();
  for (int p = 0; p < n; p++) {
    const float *xp = x + (size_t)p * C; uint32_t *wp = w + (size_t)p * wpp;
    for (int k = 0; k < wpp; k++) {
      const int c0 = k * 32;
      if (c0 + 32 <= C) {
        uint32_t m0 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(xp + c0), zero, _CMP_LT_OQ));
        uint32_t m1 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(xp + c0 + 8), zero, _CMP_LT_OQ));
        uint32_t m2 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(xp + c0 + 16), zero, _CMP_LT_OQ));
        uint32_t m3 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(xp + c0 + 24), zero, _CMP_LT_OQ));
        wp[k] = m0 | m1 << 8 | m2 << 16 | m3 << 24;
      } else {
        uint32_t word = 0;
        for (int i = 0; c0 + i < C; i++) word |= (uint32_t)(xp[c0 + i] < 0.0f) << i;
        wp[k] = word;
      }
    }
  }
}

void packRows(const float *x, int C, int wpp, uint32_t *w, int n) {
  if (isa == ISA_AVX512) { signPackAvx512(x, C, wpp, w, 0, n); return; }
  if (isa == ISA_AVX2) { signPackAvx2(x, C, wpp, w, n); return; }
  for (int p = 0; p < n; p++) {
    const float *xp = x + (size_t)p * C; uint32_t *wp = w + (size_t)p * wpp;
    for (int k = 0; k < wpp; k++) {
      uint32_t word = 0;
      int c0 = k * 32, m = C - c0 < 32 ? C - c0 : 32;
      for (int i = 0; i < m; i++) word |= (uint32_t)(xp[c0 + i] < 0.0f) << i;
      wp[k] = word;
    }
  }
}

void signPackRun(const float *x, int pixels, int C, int wpp, uint32_t *w) {
  parallelFor(pixels, (double)pixels * C, [&](int a, int b) { packRows(x + (size_t)a * C, C, wpp, w + (size_t)a * wpp, b - a); });
}

// output rows [a, b) of a max / average window pool (poolApply's order: taps row-major, in-bounds only)
// x holds input rows y0.. (y0 > 0: a band of the input; rows outside [0, H) are padding, as always)
void poolRows(const float *x, int H, int W, int C, bool isMax, int kernel, int stride, int pad, int ow, float *y, int a, int b, int y0 = 0) {
  std::vector<float> acc(C);
  for (int oy = a; oy < b; oy++) for (int ox = 0; ox < ow; ox++) {
    int count = 0;
    for (int c = 0; c < C; c++) acc[c] = isMax ? -__builtin_inff() : 0.0f;
    for (int ky = 0; ky < kernel; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= H) continue;
      for (int kx = 0; kx < kernel; kx++) {
        int ix = ox * stride - pad + kx;
        if (ix < 0 || ix >= W) continue;
        count++;
        const float *xp = x + ((size_t)(iy - y0) * W + ix) * C;
        if (isMax) maxInto(acc.data(), xp, C);
        else sumInto(acc.data(), xp, C);
      }
    }
    float *yp = y + ((size_t)oy * ow + ox) * C;
    if (isMax) for (int c = 0; c < C; c++) yp[c] = acc[c];
    else for (int c = 0; c < C; c++) yp[c] = acc[c] / (float)count;
  }
}

void poolRun(const float *x, int H, int W, int C, bool isMax, int kernel, int stride, int pad, int oh, int ow, float *y) {
  parallelFor(oh, (double)oh * ow * C * kernel * kernel, [&](int a, int b) { poolRows(x, H, W, C, isMax, kernel, stride, pad, ow, y, a, b); });
}

// global average pooling (gapApply): per channel, an fp32 sum over pixels in order, then / n (the fp32 quotient
// of two exact values: the same as the spec's double quotient rounded once, as 53 >= 2 * 24 + 2)
void gapRun(const float *x, int n, int C, float *y) {
  for (int c = 0; c < C; c++) y[c] = 0.0f;
  for (int p = 0; p < n; p++) sumInto(y, x + (size_t)p * C, C);
  for (int c = 0; c < C; c++) y[c] = y[c] / (float)n;
}

// ------------------------------------------------------------------ resident programs
// A program is the golden plan compiled once (src/golden/native-program.ts): a list of instructions, each a
// producer kernel (binary conv with its output transform, fp32 conv / fc, window pool, global average pool,
// or a plain read of an existing tensor) followed by an epilogue: the plan's fused post-ops applied to each
// output pixel's channel vector in the same pass (affine = bnApply, residual add = addApply, store of a
// tensor read later, sign + bit-pack = packSigns). Every operation is the per-step kernel's, element by
// element, so the bytes are the per-step run's; only the intermediate stores and the separate passes go.
// Buffers are the caller's typed arrays (their backing stores do not move), so a run is one call that
// neither allocates nor copies. Each instruction is one parallel region: a thread runs the producer and
// then the epilogue on the same pixels while they are in its cache.

enum InstrKind { I_BCONV = 0, I_RCONV = 1, I_POOL = 2, I_GAP = 3, I_READ = 4 };
struct Instr {
  int kind = 0;
  BGeom bg{};
  FGeom fg{};
  // pool / gap / read: input x (H x W x C)
  const float *x = nullptr; int H = 0, W = 0, C = 0, isMax = 0, kernel = 0, stride = 0, pad = 0, oh = 0, ow = 0;
  // the producer's output (P pixels x Cout), which the epilogue reads; for I_READ the input itself
  const float *raw = nullptr; int P = 0, Cout = 0;
  // 0: the raw output is read only by the epilogue (a shared scratch), so a kernel that fuses the epilogue
  // need not write it
  int rawStored = 1;
  // rconv: its stored output is read by the next instruction, a pool, and by nothing else (runPoolFused)
  int fusePool = 0;
  std::vector<Epi> epi;
};
struct Program { std::vector<Instr> ins; };
std::vector<std::unique_ptr<Program>> programs;

// the epilogue on output pixels [a, b), in blocks of pixels small enough to stay in L1 (8K floats)
void epilogue(const Instr &I, int a, int b) {
  if (I.epi.empty()) return;
  const int C = I.Cout;
  thread_local std::vector<float> tmp;
  int blk = 8192 / (C > 0 ? C : 1); if (blk < 1) blk = 1;
  if (tmp.size() < (size_t)blk * C) tmp.resize((size_t)blk * C);
  for (int p0 = a; p0 < b; p0 += blk) {
    int n = b - p0 < blk ? b - p0 : blk;
    size_t len = (size_t)n * C, at = (size_t)p0 * C;
    float *v = tmp.data();
    memcpy(v, I.raw + at, len * 4);
    for (const Epi &e : I.epi) {
      switch (e.kind) {
        case EPI_AFFINE: bnRows(v, C, e.a, e.b, v, 0, n); break;
        case EPI_ADD: addRange(v, e.a + at, v, 0, len); break;
        case EPI_STORE: memcpy(e.outF + at, v, len * 4); break;
        case EPI_PACK: packRows(v, C, e.wpp, e.outP + (size_t)p0 * e.wpp, n); break;
      }
    }
  }
}

// a conv instruction's items, then its epilogue: in the same pass on each pixel group when the channels are
// not split (the group's outputs are complete), else in a second pass once every part is done
// (nothing to do when the kernel applied the epilogue itself: fused)
template <typename F> void convItems(const Instr &I, const ConvSplit &cs, double work, bool fused, const F &conv) {
  parallelFor(cs.items(), work, [&](int a, int b) {
    for (int i = a; i < b; i++) {
      int p0, p1, oa, ob;
      cs.range(i, p0, p1, oa, ob);
      conv(p0, p1, oa, ob);
      if (cs.parts == 1 && !fused) epilogue(I, p0, p1);
    }
  });
  if (cs.parts > 1 && !fused) parallelFor(cs.groups, (double)I.P * I.Cout * 8, [&](int a, int b) { epilogue(I, a * cs.G, b * cs.G < I.P ? b * cs.G : I.P); });
}

void runInstr(const Instr &I) {
  switch (I.kind) {
    case I_BCONV: {
      BGeom g = withSplitInput(I.bg);
      // the AVX2 kernel applies the epilogue in registers as it finishes each output vector
      const bool fused = isa == ISA_AVX2;
      if (fused) { g.epi = I.epi.data(); g.nepi = (int)I.epi.size(); if (!I.rawStored) g.y = nullptr; }
      double work = (double)I.P * g.coutPad * g.kernel * g.kernel * g.wpp;
      const ConvSplit cs = convSplit(I.P, 8, g.coutPad);  // as binaryConvRun
      convItems(I, cs, work, fused, [&](int p0, int p1, int oa, int ob) { binaryRows(g, p0, p1, oa, ob); });
      break;
    }
    case I_RCONV: {
      FGeom g = I.fg;
      // the AVX2 kernel applies the epilogue in registers as it stores each output vector
      const bool fused = isa == ISA_AVX2;
      if (fused) { g.epi = I.epi.data(); g.nepi = (int)I.epi.size(); if (!I.rawStored) g.y = nullptr; }
      if (I.P == 1) { realConvRun(g); if (!fused) epilogue(I, 0, 1); break; }
      double work = (double)I.P * g.coutPad * g.kernel * g.kernel * g.C;
      const ConvSplit cs = convSplit(I.P, 12, g.coutPad);  // as realConvRun
      convItems(I, cs, work, fused, [&](int p0, int p1, int oa, int ob) { floatRows(g, p0, p1, oa, ob); });
      break;
    }
    case I_POOL: {
      double work = (double)I.oh * I.ow * I.C * I.kernel * I.kernel;
      parallelFor(I.oh, work, [&](int a, int b) {
        poolRows(I.x, I.H, I.W, I.C, I.isMax != 0, I.kernel, I.stride, I.pad, I.ow, (float *)I.raw, a, b);
        epilogue(I, a * I.ow, b * I.ow);
      });
      break;
    }
    case I_GAP: gapRun(I.x, I.H * I.W, I.C, (float *)I.raw); epilogue(I, 0, 1); break;
    case I_READ: parallelFor(I.P, (double)I.P * I.Cout, [&](int a, int b) { epilogue(I, a, b); }); break;
  }
}

// A conv whose stored output only feeds the pool after it (the stem: conv + BN, then max pool 3x3/2), run as
// one: bands of pool rows, each computing the conv rows it needs into a buffer of its own thread and pooling
// them at once, so the conv output (3.2 MB for the ImageNet stem) is never written out and read back. Within a
// band the rows shared by consecutive sub-bands are kept, so only a band's first row is computed twice (by the
// band before it too): bands = 4 per thread. AVX2 only (the kernel applying the epilogue in registers); same
// values as the two instructions run one after the other, since each output is computed the same way.
bool poolFusable(const Instr &A, const Instr &B) {
  if (isa != ISA_AVX2 || A.kind != I_RCONV || !A.fusePool || A.rawStored || A.P <= 1 || B.kind != I_POOL) return false;
  if (A.epi.empty() || A.epi.back().kind != EPI_STORE || A.epi.back().outF != B.x) return false;
  for (size_t i = 0; i + 1 < A.epi.size(); i++) if (A.epi[i].kind != EPI_AFFINE && A.epi[i].kind != EPI_ADD) return false;
  return B.H == A.fg.outH && B.W == A.fg.outW && B.C == A.fg.cout;
}

void runPoolFused(const Instr &A, const Instr &B) {
  const FGeom &g0 = A.fg;
  const int W1 = g0.outW, C1 = g0.cout, H1 = g0.outH;
  const int oh = B.oh, kp = B.kernel, sp = B.stride, pp = B.pad;
  const int bands = pool.threads * 4 < oh ? pool.threads * 4 : oh;
  double work = (double)A.P * g0.coutPad * g0.kernel * g0.kernel * g0.C;
  parallelFor(bands, work, [&](int ba, int bb) {
    const int ra = (int)((int64_t)oh * ba / bands), rb = (int)((int64_t)oh * bb / bands);
    thread_local std::vector<float> buf;
    std::vector<Epi> epi(A.epi);
    FGeom g = g0;
    g.y = nullptr;
    int lo = 0, hi = 0;  // conv rows held in buf
    const int SUB = 2;   // pool rows per sub-band
    const size_t most = (size_t)((SUB - 1) * sp + kp) * W1 * C1;  // a sub-band's rows at most
    if (buf.size() < most) buf.resize(most);  // before any row is kept: resizing may move the buffer
    for (int a = ra; a < rb; a += SUB) {
      const int b = a + SUB < rb ? a + SUB : rb;
      int need0 = a * sp - pp, need1 = (b - 1) * sp - pp + kp;
      need0 = need0 < 0 ? 0 : need0; need1 = need1 > H1 ? H1 : need1;
      if (need1 <= need0) { need0 = need1 = 0; }
      // keep the rows already computed, compute the rest
      int keep0 = need0 > lo ? need0 : lo, keep1 = hi < need1 ? hi : need1;
      if (keep1 < keep0 || a == ra) keep0 = keep1 = need0;
      if (keep1 > keep0) memmove(buf.data() + (size_t)(keep0 - need0) * W1 * C1, buf.data() + (size_t)(keep0 - lo) * W1 * C1, (size_t)(keep1 - keep0) * W1 * C1 * 4);
      lo = need0; hi = need1;
      epi.back().outF = buf.data();
      epi.back().off = (size_t)need0 * W1 * C1;
      g.epi = epi.data(); g.nepi = (int)epi.size();
      if (need0 < keep0) floatRowsAvx2(g, need0 * W1, keep0 * W1, 0, g.coutPad);
      if (keep1 < need1) floatRowsAvx2(g, (keep1 > need0 ? keep1 : need0) * W1, need1 * W1, 0, g.coutPad);
      poolRows(buf.data(), B.H, B.W, B.C, B.isMax != 0, kp, sp, pp, B.ow, (float *)B.raw, a, b, need0);
      epilogue(B, a * B.ow, b * B.ow);
    }
  });
}

// ------------------------------------------------------------------ Node-API glue

struct Arr { void *data = nullptr; size_t length = 0; napi_typedarray_type type = napi_int8_array; bool ok = false; };

Arr arr(napi_env env, napi_value v) {
  Arr a;
  bool is = false;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return a;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return a;
  napi_value buf; size_t off;
  napi_get_typedarray_info(env, v, &a.type, &a.length, &a.data, &buf, &off);
  a.ok = true;
  return a;
}
int num(napi_env env, napi_value v) { int32_t r = 0; napi_get_value_int32(env, v, &r); return r; }
napi_value undef(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
napi_value fail(napi_env env, const char *msg) { napi_throw_error(env, nullptr, msg); return nullptr; }

#define ARGS(n)                                          \
  size_t argc = n; napi_value argv[n];                   \
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr); \
  if (argc < n) return fail(env, "birealsim native: too few arguments");

// prepBinary(src Uint32Array [cout][taps][wpp], cout, taps, wpp, dst Uint32Array: [taps*wpp][coutPad] rows,
// [taps][coutPad] per-tap popcounts)
napi_value PrepBinary(napi_env env, napi_callback_info info) {
  ARGS(5);
  Arr s = arr(env, argv[0]), d = arr(env, argv[4]);
  int cout = num(env, argv[1]), taps = num(env, argv[2]), wpp = num(env, argv[3]), CP = (cout + 15) / 16 * 16;
  const size_t rows = (size_t)taps * wpp;
  if (!s.ok || !d.ok || s.length < (size_t)cout * rows || d.length < (rows + taps) * CP) return fail(env, "prepBinary: sizes");
  const uint32_t *src = (const uint32_t *)s.data; uint32_t *dst = (uint32_t *)d.data;
  memset(dst, 0, (rows + taps) * CP * 4);
  for (int o = 0; o < cout; o++) for (int t = 0; t < taps; t++) for (int k = 0; k < wpp; k++)
    dst[((size_t)t * wpp + k) * CP + o] = src[((size_t)o * taps + t) * wpp + k];
  // then the popcount of each tap's weight words per channel (the AVX2 kernel's 'zero' padding correction)
  uint32_t *pops = dst + rows * CP;
  for (int t = 0; t < taps; t++) for (int k = 0; k < wpp; k++) for (int o = 0; o < CP; o++)
    pops[(size_t)t * CP + o] += (uint32_t)__builtin_popcount(dst[((size_t)t * wpp + k) * CP + o]);
  return undef(env);
}

// prepFloat(src Float32Array [cout][K], cout, K, dst Float32Array [K][coutPad])
napi_value PrepFloat(napi_env env, napi_callback_info info) {
  ARGS(4);
  Arr s = arr(env, argv[0]), d = arr(env, argv[3]);
  int cout = num(env, argv[1]), K = num(env, argv[2]), CP = (cout + 15) / 16 * 16;
  if (!s.ok || !d.ok || s.length < (size_t)cout * K || d.length < (size_t)K * CP) return fail(env, "prepFloat: sizes");
  const float *src = (const float *)s.data; float *dst = (float *)d.data;
  memset(dst, 0, (size_t)K * CP * 4);
  for (int o = 0; o < cout; o++) for (int k = 0; k < K; k++) dst[(size_t)k * CP + o] = src[(size_t)o * K + k];
  return undef(env);
}

// binaryConv(x, H, W, wpp, C, wT, cout, kernel, stride, pad, padOne, outH, outW, acc, mul|null, bias|null, y|null)
napi_value BinaryConv(napi_env env, napi_callback_info info) {
  ARGS(17);
  BGeom g;
  Arr x = arr(env, argv[0]), w = arr(env, argv[5]), acc = arr(env, argv[13]), mul = arr(env, argv[14]), bias = arr(env, argv[15]), y = arr(env, argv[16]);
  g.H = num(env, argv[1]); g.W = num(env, argv[2]); g.wpp = num(env, argv[3]); g.C = num(env, argv[4]);
  g.cout = num(env, argv[6]); g.coutPad = (g.cout + 15) / 16 * 16; g.kernel = num(env, argv[7]); g.stride = num(env, argv[8]);
  g.pad = num(env, argv[9]); g.padOne = num(env, argv[10]); g.outH = num(env, argv[11]); g.outW = num(env, argv[12]);
  size_t P = (size_t)g.outH * g.outW;
  if (!x.ok || !w.ok || !acc.ok || x.length < (size_t)g.H * g.W * g.wpp || w.length < ((size_t)g.wpp + 1) * g.kernel * g.kernel * g.coutPad || acc.length < P * g.cout) return fail(env, "binaryConv: sizes");
  if (g.wpp > 4096) return fail(env, "binaryConv: more than 131072 channels");
  g.x = (const uint32_t *)x.data; g.wT = (const uint32_t *)w.data; g.acc = (int32_t *)acc.data;
  g.wpop = (const int32_t *)(g.wT + (size_t)g.kernel * g.kernel * g.wpp * g.coutPad);
  g.mul = nullptr; g.bias = nullptr; g.y = nullptr;
  if (y.ok) {
    if (!mul.ok || !bias.ok || mul.length < (size_t)g.cout || bias.length < (size_t)g.cout || y.length < P * g.cout) return fail(env, "binaryConv: transform sizes");
    g.mul = (const float *)mul.data; g.bias = (const float *)bias.data; g.y = (float *)y.data;
  }
  binaryConvRun(g);
  return undef(env);
}

// realConv(x, H, W, C, wT, bias|null, cout, kernel, stride, pad, outH, outW, y)
napi_value RealConv(napi_env env, napi_callback_info info) {
  ARGS(13);
  FGeom g;
  Arr x = arr(env, argv[0]), w = arr(env, argv[4]), b = arr(env, argv[5]), y = arr(env, argv[12]);
  g.H = num(env, argv[1]); g.W = num(env, argv[2]); g.C = num(env, argv[3]);
  g.cout = num(env, argv[6]); g.coutPad = (g.cout + 15) / 16 * 16; g.kernel = num(env, argv[7]); g.stride = num(env, argv[8]);
  g.pad = num(env, argv[9]); g.outH = num(env, argv[10]); g.outW = num(env, argv[11]);
  size_t P = (size_t)g.outH * g.outW;
  if (!x.ok || !w.ok || !y.ok || x.length < (size_t)g.H * g.W * g.C || w.length < (size_t)g.kernel * g.kernel * g.C * g.coutPad || y.length < P * g.cout || (b.ok && b.length < (size_t)g.cout)) return fail(env, "realConv: sizes");
  g.x = (const float *)x.data; g.wT = (const float *)w.data; g.bias = b.ok ? (const float *)b.data : nullptr; g.y = (float *)y.data;
  realConvRun(g);
  return undef(env);
}

// bn(x, pixels, C, scale, shift, y)
napi_value Bn(napi_env env, napi_callback_info info) {
  ARGS(6);
  Arr x = arr(env, argv[0]), s = arr(env, argv[3]), t = arr(env, argv[4]), y = arr(env, argv[5]);
  int P = num(env, argv[1]), C = num(env, argv[2]);
  if (!x.ok || !s.ok || !t.ok || !y.ok || x.length < (size_t)P * C || y.length < (size_t)P * C || s.length < (size_t)C || t.length < (size_t)C) return fail(env, "bn: sizes");
  bnRun((const float *)x.data, P, C, (const float *)s.data, (const float *)t.data, (float *)y.data);
  return undef(env);
}

// add(a, b, y)
napi_value Add(napi_env env, napi_callback_info info) {
  ARGS(3);
  Arr a = arr(env, argv[0]), b = arr(env, argv[1]), y = arr(env, argv[2]);
  if (!a.ok || !b.ok || !y.ok || b.length < a.length || y.length < a.length) return fail(env, "add: sizes");
  addRun((const float *)a.data, (const float *)b.data, a.length, (float *)y.data);
  return undef(env);
}

// signPack(x, pixels, C, wpp, words)
napi_value SignPack(napi_env env, napi_callback_info info) {
  ARGS(5);
  Arr x = arr(env, argv[0]), w = arr(env, argv[4]);
  int P = num(env, argv[1]), C = num(env, argv[2]), wpp = num(env, argv[3]);
  if (!x.ok || !w.ok || x.length < (size_t)P * C || w.length < (size_t)P * wpp || wpp * 32 < C) return fail(env, "signPack: sizes");
  signPackRun((const float *)x.data, P, C, wpp, (uint32_t *)w.data);
  return undef(env);
}

// pool(x, H, W, C, isMax, kernel, stride, pad, oh, ow, y)
napi_value PoolFn(napi_env env, napi_callback_info info) {
  ARGS(11);
  Arr x = arr(env, argv[0]), y = arr(env, argv[10]);
  int H = num(env, argv[1]), W = num(env, argv[2]), C = num(env, argv[3]), mx = num(env, argv[4]), k = num(env, argv[5]), s = num(env, argv[6]), p = num(env, argv[7]), oh = num(env, argv[8]), ow = num(env, argv[9]);
  if (!x.ok || !y.ok || x.length < (size_t)H * W * C || y.length < (size_t)oh * ow * C) return fail(env, "pool: sizes");
  poolRun((const float *)x.data, H, W, C, mx != 0, k, s, p, oh, ow, (float *)y.data);
  return undef(env);
}

// ---- resident programs: progNew() -> id; progAdd(id, kind, ints, arrays, epiInts, epiArrays); progRun(id, from, to); progFree(id)
// Every array length is checked against the geometry here, once, so a run cannot read or write out of bounds.

Arr elem(napi_env env, napi_value list, uint32_t i) {
  napi_value v;
  if (napi_get_element(env, list, i, &v) != napi_ok) return Arr();
  return arr(env, v);
}
bool fits(const Arr &a, size_t n, napi_typedarray_type t) { return a.ok && a.type == t && a.length >= n; }
Program *progOf(napi_env env, napi_value v) {
  int id = num(env, v);
  if (id < 0 || id >= (int)programs.size() || !programs[id]) return nullptr;
  return programs[id].get();
}

napi_value ProgNew(napi_env env, napi_callback_info) {
  int id = -1;
  for (int i = 0; i < (int)programs.size(); i++) if (!programs[i]) { id = i; break; }
  if (id < 0) { id = (int)programs.size(); programs.emplace_back(); }
  programs[id].reset(new Program());
  napi_value r; napi_create_int32(env, id, &r);
  return r;
}

napi_value ProgFree(napi_env env, napi_callback_info info) {
  ARGS(1);
  int id = num(env, argv[0]);
  if (id >= 0 && id < (int)programs.size()) programs[id].reset();
  return undef(env);
}

// ints and arrays by kind:
//   0 bconv: [H, W, wpp, C, cout, kernel, stride, pad, padOne, outH, outW]; [x u32, wT u32, mul, bias, y, acc i32|null]
//   1 rconv: [H, W, C, cout, kernel, stride, pad, outH, outW];              [x, wT, bias|null, y]
//   2 pool:  [H, W, C, isMax, kernel, stride, pad, oh, ow];                [x, y]
//   3 gap:   [H, W, C];                                                    [x, y]
//   4 read:  [P, C];                                                       [x]
// epilogue: epiInts [kind, wpp] per entry; epiArrays [a, b, out] per entry (affine: scale, shift; add: other
// tensor; store: out f32; pack: out u32 words, wpp words per pixel)
napi_value ProgAdd(napi_env env, napi_callback_info info) {
  ARGS(6);
  Program *pr = progOf(env, argv[0]);
  if (!pr) return fail(env, "progAdd: no such program");
  int kind = num(env, argv[1]);
  Arr ia = arr(env, argv[2]), ea = arr(env, argv[4]);
  if (!fits(ia, 0, napi_int32_array) || !fits(ea, 0, napi_int32_array)) return fail(env, "progAdd: ints");
  const int32_t *q = (const int32_t *)ia.data;
  size_t nq = ia.length;
  napi_value A = argv[3];
  const auto F = napi_float32_array, U = napi_uint32_array;
  Instr I;
  I.kind = kind;
  switch (kind) {
    case I_BCONV: {
      if (nq < 11) return fail(env, "progAdd bconv: ints");
      BGeom &g = I.bg;
      g.H = q[0]; g.W = q[1]; g.wpp = q[2]; g.C = q[3]; g.cout = q[4]; g.coutPad = (g.cout + 15) / 16 * 16; g.kernel = q[5]; g.stride = q[6];
      g.pad = q[7]; g.padOne = q[8]; g.outH = q[9]; g.outW = q[10];
      if (g.wpp > 4096 || g.wpp * 32 < g.C || g.kernel < 1 || g.stride < 1 || g.pad < 0) return fail(env, "progAdd bconv: geometry");
      size_t P = (size_t)g.outH * g.outW;
      Arr x = elem(env, A, 0), w = elem(env, A, 1), mul = elem(env, A, 2), bias = elem(env, A, 3), y = elem(env, A, 4), acc = elem(env, A, 5);
      if (!fits(x, (size_t)g.H * g.W * g.wpp, U) || !fits(w, ((size_t)g.wpp + 1) * g.kernel * g.kernel * g.coutPad, U) || !fits(mul, g.cout, F) || !fits(bias, g.cout, F) || !fits(y, P * g.cout, F)) return fail(env, "progAdd bconv: sizes");
      if (acc.ok && !fits(acc, P * g.cout, napi_int32_array)) return fail(env, "progAdd bconv: acc size");
      g.x = (const uint32_t *)x.data; g.wT = (const uint32_t *)w.data; g.mul = (const float *)mul.data; g.bias = (const float *)bias.data;
      g.wpop = (const int32_t *)(g.wT + (size_t)g.kernel * g.kernel * g.wpp * g.coutPad);
      g.y = (float *)y.data; g.acc = acc.ok ? (int32_t *)acc.data : nullptr;
      I.raw = g.y; I.P = (int)P; I.Cout = g.cout;
      if (nq > 11) I.rawStored = q[11];
      break;
    }
    case I_RCONV: {
      if (nq < 9) return fail(env, "progAdd rconv: ints");
      FGeom &g = I.fg;
      g.H = q[0]; g.W = q[1]; g.C = q[2]; g.cout = q[3]; g.coutPad = (g.cout + 15) / 16 * 16; g.kernel = q[4]; g.stride = q[5]; g.pad = q[6]; g.outH = q[7]; g.outW = q[8];
      if (g.kernel < 1 || g.stride < 1 || g.pad < 0) return fail(env, "progAdd rconv: geometry");
      size_t P = (size_t)g.outH * g.outW;
      Arr x = elem(env, A, 0), w = elem(env, A, 1), b = elem(env, A, 2), y = elem(env, A, 3);
      if (!fits(x, (size_t)g.H * g.W * g.C, F) || !fits(w, (size_t)g.kernel * g.kernel * g.C * g.coutPad, F) || !fits(y, P * g.cout, F) || (b.ok && !fits(b, g.cout, F))) return fail(env, "progAdd rconv: sizes");
      g.x = (const float *)x.data; g.wT = (const float *)w.data; g.bias = b.ok ? (const float *)b.data : nullptr; g.y = (float *)y.data;
      I.raw = g.y; I.P = (int)P; I.Cout = g.cout;
      if (nq > 9) I.rawStored = q[9];
      if (nq > 10) I.fusePool = q[10];
      break;
    }
    case I_POOL: case I_GAP: {
      if (nq < (kind == I_POOL ? 9u : 3u)) return fail(env, "progAdd pool: ints");
      I.H = q[0]; I.W = q[1]; I.C = q[2];
      if (kind == I_POOL) { I.isMax = q[3]; I.kernel = q[4]; I.stride = q[5]; I.pad = q[6]; I.oh = q[7]; I.ow = q[8]; }
      else { I.oh = 1; I.ow = 1; }
      if (kind == I_POOL && (I.kernel < 1 || I.stride < 1 || I.pad < 0)) return fail(env, "progAdd pool: geometry");
      Arr x = elem(env, A, 0), y = elem(env, A, 1);
      size_t P = (size_t)I.oh * I.ow;
      if (!fits(x, (size_t)I.H * I.W * I.C, F) || !fits(y, P * I.C, F)) return fail(env, "progAdd pool: sizes");
      I.x = (const float *)x.data; I.raw = (const float *)y.data; I.P = (int)P; I.Cout = I.C;
      break;
    }
    case I_READ: {
      if (nq < 2) return fail(env, "progAdd read: ints");
      Arr x = elem(env, A, 0);
      if (!fits(x, (size_t)q[0] * q[1], F)) return fail(env, "progAdd read: sizes");
      I.raw = (const float *)x.data; I.P = q[0]; I.Cout = q[1];
      break;
    }
    default: return fail(env, "progAdd: unknown kind");
  }
  const int32_t *e = (const int32_t *)ea.data;
  napi_value E = argv[5];
  size_t n = (size_t)I.P * I.Cout;
  for (size_t i = 0; i + 1 < ea.length; i += 2) {
    Epi ep; ep.kind = e[i]; ep.wpp = e[i + 1];
    uint32_t j = (uint32_t)(i / 2) * 3;
    Arr a = elem(env, E, j), b = elem(env, E, j + 1), o = elem(env, E, j + 2);
    switch (ep.kind) {
      case EPI_AFFINE: if (!fits(a, I.Cout, F) || !fits(b, I.Cout, F)) return fail(env, "progAdd affine: sizes"); ep.a = (const float *)a.data; ep.b = (const float *)b.data; break;
      case EPI_ADD: if (!fits(a, n, F)) return fail(env, "progAdd add: sizes"); ep.a = (const float *)a.data; break;
      case EPI_STORE: if (!fits(o, n, F)) return fail(env, "progAdd store: sizes"); ep.outF = (float *)o.data; break;
      case EPI_PACK: if (ep.wpp * 32 < I.Cout || !fits(o, (size_t)I.P * ep.wpp, U)) return fail(env, "progAdd pack: sizes"); ep.outP = (uint32_t *)o.data; break;
      default: return fail(env, "progAdd: unknown epilogue");
    }
    I.epi.push_back(ep);
  }
  pr->ins.push_back(std::move(I));
  napi_value r; napi_create_int32(env, (int)pr->ins.size() - 1, &r);
  return r;
}

napi_value ProgRun(napi_env env, napi_callback_info info) {
  ARGS(3);
  Program *pr = progOf(env, argv[0]);
  if (!pr) return fail(env, "progRun: no such program");
  int from = num(env, argv[1]), to = num(env, argv[2]);
  if (from < 0) from = 0;
  if (to > (int)pr->ins.size()) to = (int)pr->ins.size();
  for (int i = from; i < to; i++) {
    if (i + 1 < to && poolFusable(pr->ins[i], pr->ins[i + 1])) { runPoolFused(pr->ins[i], pr->ins[i + 1]); i++; continue; }
    runInstr(pr->ins[i]);
  }
  return undef(env);
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  ARGS(1);
  int n = num(env, argv[0]);
  if (n != pool.threads) pool.resize(n);
  return undef(env);
}

// isa(): 'avx512-vpopcntdq' | 'avx2' | 'scalar'; threads()
napi_value IsaName(napi_env env, napi_callback_info) {
  napi_value s;
  const char *n = isa == ISA_AVX512 ? "avx512-vpopcntdq" : isa == ISA_AVX2 ? "avx2" : "scalar";
  napi_create_string_utf8(env, n, NAPI_AUTO_LENGTH, &s);
  return s;
}
// setIsa(name): forces a lower ISA (tests of every code path on one machine); returns the ISA in use
napi_value SetIsa(napi_env env, napi_callback_info info) {
  ARGS(1);
  char buf[32] = {0}; size_t len;
  napi_get_value_string_utf8(env, argv[0], buf, sizeof buf, &len);
  detectIsa();
  int want = strcmp(buf, "scalar") == 0 ? ISA_SCALAR : strcmp(buf, "avx2") == 0 ? ISA_AVX2 : ISA_AVX512;
  if (want < isa) isa = want;
  return IsaName(env, info);
}

}  // namespace

NAPI_MODULE_INIT() {
  detectIsa();
  napi_property_descriptor props[] = {
    {"prepBinary", nullptr, PrepBinary, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"prepFloat", nullptr, PrepFloat, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"binaryConv", nullptr, BinaryConv, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"realConv", nullptr, RealConv, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"bn", nullptr, Bn, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"add", nullptr, Add, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"signPack", nullptr, SignPack, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"pool", nullptr, PoolFn, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"progNew", nullptr, ProgNew, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"progFree", nullptr, ProgFree, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"progAdd", nullptr, ProgAdd, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"progRun", nullptr, ProgRun, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"isa", nullptr, IsaName, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
