/*
 * Plain C binary GEMM reference for `npm run bench`: dot[m][n] = K - 2*popcount(A_m XOR B_n) over 64-bit
 * words with __builtin_popcountll, a straightforward triple loop (no blocking, no intrinsics). Compiled
 * on the spot by bench/kernels.ts with the flags it prints; with -mpopcnt (no AVX-512 VPOPCNTDQ) GCC
 * emits one scalar POPCNT per word.
 * Usage: bgemm_ref M N Kbits seconds -> prints "GBOPS <value> CHECK <sum of dots>"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void bgemm(const uint64_t *a, const uint64_t *b, int32_t *out, int M, int N, int words, int kbits) {
  for (int m = 0; m < M; m++) {
    const uint64_t *am = a + (size_t)m * words;
    for (int n = 0; n < N; n++) {
      const uint64_t *bn = b + (size_t)n * words;
      int pop = 0;
      for (int w = 0; w < words; w++) pop += __builtin_popcountll(am[w] ^ bn[w]);
      out[(size_t)m * N + n] = kbits - 2 * pop;
    }
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int M = argc > 1 ? atoi(argv[1]) : 256, N = argc > 2 ? atoi(argv[2]) : 256, K = argc > 3 ? atoi(argv[3]) : 4608;
  double secs = argc > 4 ? atof(argv[4]) : 1.0;
  int words = (K + 63) / 64;
  uint64_t *a = malloc(sizeof(uint64_t) * M * words), *b = malloc(sizeof(uint64_t) * N * words);
  int32_t *out = malloc(sizeof(int32_t) * M * N);
  uint64_t s = 88172645463325252ULL; /* xorshift64, fixed seed */
  for (int i = 0; i < M * words; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; a[i] = s; }
  for (int i = 0; i < N * words; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; b[i] = s; }
  if (K % 64) { /* zero the padding bits past K, as the project's convention requires */
    uint64_t mask = (1ULL << (K % 64)) - 1;
    for (int i = 0; i < M; i++) a[(size_t)i * words + words - 1] &= mask;
    for (int i = 0; i < N; i++) b[(size_t)i * words + words - 1] &= mask;
  }
  bgemm(a, b, out, M, N, words, K); /* warm-up */
  /* repeat in rounds; report the median round's throughput */
  double rates[64];
  int rounds = 0;
  double t_end = now() + secs;
  while (rounds < 64 && (rounds < 5 || now() < t_end)) {
    int reps = 0;
    double t0 = now(), t1;
    do { bgemm(a, b, out, M, N, words, K); reps++; t1 = now(); } while (t1 - t0 < 0.02);
    rates[rounds++] = (double)M * N * K * reps / (t1 - t0) / 1e9;
  }
  for (int i = 1; i < rounds; i++) for (int j = i; j > 0 && rates[j] < rates[j - 1]; j--) { double t = rates[j]; rates[j] = rates[j - 1]; rates[j - 1] = t; }
  long long check = 0;
  for (int i = 0; i < M * N; i++) check += out[i];
  printf("GBOPS %.2f CHECK %lld\n", rates[rounds / 2], check);
  return 0;
}
