// Sustained-load timing with the SM clock read between launches (harness_wide `clocks`). Session 10's clue: under
// ncu (single launches after idle, --clock-control none) the seesaw kernel x54046 took 481 µs against FlashMLA's
// 449 µs at 128 rows s_k 8192, back to back 682 against 520. Single launches do not say at which clock each ran
// under load, so this times a launch and, between batches of launches, measures the SM clock: cycles a launch =
// µs × MHz separates "our kernel takes more cycles" from "our kernel gets a lower clock". flashmla_clocks.py does
// the same for FlashMLA (torch.cuda._sleep as the probe); clocks_summary.py sets the phases side by side with
// nvidia-smi's power, temperature and clock-event samples. Included by harness_wide.cu after harness_common.cuh.
#pragma once
#include <chrono>
#include <thread>

// One thread spins n SM cycles; with `out`, it also writes the cycles and the global-timer nanoseconds it took.
__global__ void clkSpin(long long n, unsigned long long* out) {
  unsigned long long g0, g1;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g0));
  const long long t0 = clock64();
  long long t1 = t0;
  while (t1 - t0 < n) t1 = clock64();
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(g1));
  if (out) { out[0] = static_cast<unsigned long long>(t1 - t0); out[1] = g1 - g0; }
}

static double clkWallMs() { return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count(); }

struct ClkBatch {
  double t;              // ms since the phase began, when the batch was queued
  std::vector<float> us; // each launch's time between its own events
  double mhz;            // the probe's clock (event timing)
  double gmhz;           // the same probe's clock by the global timer (cross-check)
};

static double clkMedian(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median launch µs, probe MHz and global-timer MHz over the batches queued in [t0, t1) ms.
static void clkWindow(const std::vector<ClkBatch>& bs, double t0, double t1, double& us, double& mhz, double& gmhz, int& n) {
  std::vector<double> u, m, g;
  for (const auto& b : bs)
    if (b.t >= t0 && b.t < t1) {
      for (float x : b.us) u.push_back(x);
      m.push_back(b.mhz);
      g.push_back(b.gmhz);
    }
  us = clkMedian(u); mhz = clkMedian(m); gmhz = clkMedian(g); n = static_cast<int>(u.size());
}

// How a phase loads the GPU. b2b / gap: `secs` seconds in one go, summarised over its second half (the clock the
// load settles at), without / with a memset of gapBytes before each launch. lb / dob: three rounds of 400 ms idle
// then a short run, summarised over the window each timer reports: lb as the library's `flashmla bench` times
// (300 ms of back-to-back warm-up, then 50 timed reps back to back: the window [300, 335) ms), dob as triton's
// do_bench in bench_flashmla.py (a 256 MB memset before each rep, 25 ms of warm-up, 200 ms timed: [25, 225) ms).
struct ClkMode {
  bool gap;
  int rounds;
  double idleMs, runMs, from, to; // to = 0: the second half of the run
};
static bool clkModeOf(const std::string& how, double secs, ClkMode& m) {
  if (how == "b2b" || how == "gap") m = {how == "gap", 1, 0, secs * 1e3, 0, 0};
  else if (how == "lb") m = {false, 3, 400, 335, 300, 335};
  else if (how == "dob") m = {true, 3, 400, 225, 25, 225};
  else return false;
  return true;
}

// One phase (kernel + mode): batches of kB launches, each launch between its own pair of events (as both timers
// bracket a rep); after each batch the probe spins kN then 3 kN cycles between events: MHz = 2 kN / (difference of
// the two times), which cancels the launch overhead. Two batches are in flight so the GPU never waits on the host;
// the probes take ~1 % of the time. Prints a line every 250 ms of the first round and a summary line ("first":
// the first 100 ms of the first round; "last": the mode's window, over all rounds).
template <typename Launch>
static void clocksPhase(const std::string& shape, const std::string& name, Launch launch, const ClkMode& md, void* gapBuf, size_t gapBytes) {
  constexpr int kB = 16, kMaxBatches = 8192;
  constexpr long long kN = 60000;
  cudaEvent_t ev[2][2 * kB + 3];
  for (auto& set : ev)
    for (auto& e : set) CK(cudaEventCreate(&e));
  unsigned long long* gt;
  CK(cudaMalloc(&gt, 16 * kMaxBatches));
  launch();
  CK(cudaDeviceSynchronize());
  std::vector<ClkBatch> bs;
  std::vector<int> round;
  std::vector<double> tq;
  double w0 = 0, wFrom = 0, wTo = 0;
  auto enqueue = [&](int nb) {
    cudaEvent_t* e = ev[nb % 2];
    for (int i = 0; i < kB; ++i) {
      if (md.gap) CK(cudaMemsetAsync(gapBuf, 0, gapBytes));
      CK(cudaEventRecord(e[2 * i]));
      launch();
      CK(cudaEventRecord(e[2 * i + 1]));
    }
    CK(cudaEventRecord(e[2 * kB]));
    clkSpin<<<1, 1>>>(kN, nullptr);
    CK(cudaEventRecord(e[2 * kB + 1]));
    clkSpin<<<1, 1>>>(3 * kN, gt + 2 * nb);
    CK(cudaEventRecord(e[2 * kB + 2]));
    tq.push_back(clkWallMs() - w0);
  };
  auto collect = [&](int nb) {
    cudaEvent_t* e = ev[nb % 2];
    CK(cudaEventSynchronize(e[2 * kB + 2]));
    ClkBatch b;
    b.t = tq[nb];
    for (int i = 0; i < kB; ++i) {
      float ms;
      CK(cudaEventElapsedTime(&ms, e[2 * i], e[2 * i + 1]));
      b.us.push_back(ms * 1e3f);
    }
    float m1, m3;
    CK(cudaEventElapsedTime(&m1, e[2 * kB], e[2 * kB + 1]));
    CK(cudaEventElapsedTime(&m3, e[2 * kB + 1], e[2 * kB + 2]));
    b.mhz = m3 > m1 ? 2.0 * kN / ((m3 - m1) * 1e3) : 0;
    b.gmhz = 0;
    bs.push_back(b);
  };
  int q = 0, c = 0; // batches queued, collected
  for (int r = 0; r < md.rounds; ++r) {
    if (md.idleMs > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(md.idleMs));
    w0 = clkWallMs();
    round.push_back(r);
    enqueue(q++);
    for (;;) {
      const bool more = clkWallMs() - w0 < md.runMs && q < kMaxBatches;
      if (more) { round.push_back(r); enqueue(q++); } // its events are those of batch q - 2, collected already
      collect(c++);
      if (!more) break;
    }
    if (r == md.rounds - 1) { wFrom = w0 + (md.to > 0 ? md.from : md.runMs / 2); wTo = md.to > 0 ? std::min(clkWallMs(), w0 + md.to) : clkWallMs(); }
  }
  CK(cudaGetLastError());
  std::vector<unsigned long long> g(2 * bs.size());
  CK(cudaMemcpy(g.data(), gt, 16 * bs.size(), cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < bs.size(); ++i) bs[i].gmhz = g[2 * i + 1] ? 1e3 * static_cast<double>(g[2 * i]) / static_cast<double>(g[2 * i + 1]) : 0;
  std::vector<ClkBatch> r0, win;
  const double from = md.to > 0 ? md.from : md.runMs / 2, to = md.to > 0 ? md.to : 1e18;
  for (size_t i = 0; i < bs.size(); ++i) {
    if (round[i] == 0) r0.push_back(bs[i]);
    if (bs[i].t >= from && bs[i].t < to) win.push_back(bs[i]);
  }
  const double len = r0.empty() ? 0 : r0.back().t + 1;
  double us, mhz, gmhz;
  int n;
  for (double t = 0; t < len; t += 250) {
    clkWindow(r0, t, t + 250, us, mhz, gmhz, n);
    if (n) printf("clkw %s %s t=%.0f n=%d us=%.1f mhz=%.0f gmhz=%.0f mcyc=%.4f\n", shape.c_str(), name.c_str(), t, n, us, mhz, gmhz, us * mhz * 1e-6);
  }
  double us0, mhz0, g0;
  int n0;
  clkWindow(r0, 0, 100, us0, mhz0, g0, n0);
  clkWindow(win, -1, 1e18, us, mhz, gmhz, n);
  int all = 0;
  for (const auto& b : bs) all += static_cast<int>(b.us.size());
  printf("clksum %s %s launches=%d first_us=%.1f first_mhz=%.0f first_mcyc=%.4f last_us=%.1f last_mhz=%.0f last_gmhz=%.0f last_mcyc=%.4f last_n=%d wall=%.0f,%.0f\n",
         shape.c_str(), name.c_str(), all, us0, mhz0, us0 * mhz0 * 1e-6, us, mhz, gmhz, us * mhz * 1e-6, n, wFrom, wTo);
  fflush(stdout);
  CK(cudaFree(gt));
  for (auto& set : ev)
    for (auto& e : set) CK(cudaEventDestroy(e));
}
