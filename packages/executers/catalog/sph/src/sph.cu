// sph: a 2-D dam break in weakly compressible SPH, one source for two builds.
//   GPU:  nvcc -x cu -O2 -std=c++17 -fmad=false -Xcompiler -ffp-contract=off -arch=native sph.cu -o sph-cuda
//   CPU:  g++ -x c++ -O2 -std=c++17 -ffp-contract=off sph.cu -o sph-cpu
// Both builds run the same per-particle functions (sph-physics.h) in the same order, in double
// precision with no FMA contraction, so their results agree (see the executer's README).
//
// Usage: sph --out DIR [--particles N] [--steps N] [--output-every N] [--format csv|vtk]
// Without --steps it runs until the dimensionless time T = t sqrt(2g/a) reaches 2.6 (a: column width),
// when the front has run about 3.4 a, short of the far wall at 4 a.
// Writes DIR/frames/frame-NNNNN.{csv,vtk} and DIR/summary.json. Exit codes: 0 done, 2 bad
// arguments, 3 no CUDA device (GPU build), 4 cannot write outputs, 5 the simulation blew up.
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sph-io.h"
#include "sph-physics.h"
#include "sph-state.h"
#ifdef __CUDACC__
#include "sph-backend-cuda.cuh"
#else
#include "sph-backend-cpu.h"
#endif

/** Dimensionless end time when --steps is not given. */
static const double kAutoEndT = 2.6;

struct Options {
  long particles = 800, steps = 0, outputEvery = 100;  // steps 0: run until T = 2.6
  std::string format = "csv", out;
};

static long parseLong(const char* text, long lo, long hi, const char* name) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "sph: %s must be an integer from %ld to %ld (got \"%s\")\n", name, lo, hi, text);
    std::exit(2);
  }
  return v;
}

static Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (value == nullptr) {
      std::fprintf(stderr, "sph: %s needs a value\n", arg.c_str());
      std::exit(2);
    }
    if (arg == "--particles") o.particles = parseLong(value, 50, 2000000, "--particles");
    else if (arg == "--steps") o.steps = parseLong(value, 1, 10000000, "--steps");
    else if (arg == "--output-every") o.outputEvery = parseLong(value, 1, 10000000, "--output-every");
    else if (arg == "--format") o.format = value;
    else if (arg == "--out") o.out = value;
    else {
      std::fprintf(stderr, "sph: unknown option %s\n", arg.c_str());
      std::exit(2);
    }
    ++i;
  }
  if (o.out.empty() || (o.format != "csv" && o.format != "vtk")) {
    std::fprintf(stderr,
                 "usage: sph --out DIR [--particles N] [--steps N] [--output-every N] [--format csv|vtk]\n");
    std::exit(2);
  }
  return o;
}

/** Lays out the column (2 nx^2 fluid particles) and three layers of wall; fills in the constants. */
static void setUp(const Options& o, SimParams& p, Geometry& g, HostState& s) {
  const int nx = static_cast<int>(std::lround(std::sqrt(o.particles / 2.0)));
  const int ny = 2 * nx;
  g.columnWidth = 1.0;
  p.dx = g.columnWidth / nx;
  g.columnHeight = ny * p.dx;
  g.tankWidth = (4 * nx + 1) * p.dx;
  g.wallTop = 3 * nx * p.dx;
  p.h = 1.3 * p.dx;
  p.rho0 = 1000.0;
  p.mass = p.rho0 * p.dx * p.dx;
  p.gravity = 9.81;
  p.c0 = 10.0 * std::sqrt(p.gravity * g.columnHeight);
  p.tait = p.rho0 * p.c0 * p.c0 / 7.0;
  p.alpha = 0.02;
  p.delta = 0.1;
  p.dt = 0.2 * p.h / p.c0;  // CFL 0.2, as DualSPHysics uses by default
  p.eta2 = 0.01 * p.h * p.h;
  p.kernelNorm = 7.0 / (4.0 * M_PI * p.h * p.h);
  const double surface = g.columnHeight + 0.5 * p.dx;
  auto add = [&](double x, double y, bool underWater) {
    const double depth = underWater && y < surface ? surface - y : 0.0;
    s.x.push_back(x);
    s.y.push_back(y);
    s.vx.push_back(0.0);
    s.vy.push_back(0.0);
    s.rho.push_back(p.rho0 * std::pow(1.0 + p.rho0 * p.gravity * depth / p.tait, 1.0 / 7.0));
  };
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) add((i + 1) * p.dx, (j + 1) * p.dx, true);
  p.nFluid = static_cast<int>(s.x.size());
  const int bottom = 4 * nx + 6;
  for (int k = 0; k < 3; ++k) {
    for (int m = 0; m < bottom; ++m) {
      const double x = (m - 2) * p.dx;
      add(x, -k * p.dx, x <= g.columnWidth + p.dx);
    }
    for (int j = 1; j <= 3 * nx; ++j) {
      add(-k * p.dx, j * p.dx, true);
      add(g.tankWidth + k * p.dx, j * p.dx, false);
    }
  }
  p.nTotal = static_cast<int>(s.x.size());
  p.cellSize = 2.0 * p.h;
  p.gridX0 = -3.0 * p.dx - p.cellSize;
  p.gridY0 = -3.0 * p.dx - p.cellSize;
  p.gridNx = static_cast<int>(std::ceil((g.tankWidth + 3.0 * p.dx + p.cellSize - p.gridX0) / p.cellSize)) + 1;
  p.gridNy = static_cast<int>(std::ceil((g.wallTop + g.columnWidth - p.gridY0) / p.cellSize)) + 1;
}

static double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/** Writes summary.json: the run's set-up, timing, and the measurements of every frame. */
static void writeSummary(const std::string& path, const Options& o, const SimParams& p, const Geometry& g,
                         const std::string& kind, const std::string& name,
                         const std::vector<FrameStats>& frames, double totalMs, double stepsMs, long stepsDone) {
  const FrameStats& a = frames.front();
  const FrameStats& b = frames.back();
  std::string frameList = "[";
  for (size_t i = 0; i < frames.size(); ++i) {
    frameList += (i == 0 ? "\n    " : ",\n    ") + frameJson(frames[i]);
  }
  frameList += "\n  ]";
  const auto energy = [](const FrameStats& f) {
    return jsonObject({{"kinetic", jsonNumber(f.kinetic)}, {"potential", jsonNumber(f.potential)}});
  };
  const std::string summary = jsonObject(
      {
          {"executer", jsonString("sph")},
          {"case", jsonString("dam-break-2d")},
          {"device", jsonObject({{"kind", jsonString(kind)}, {"name", jsonString(name)}})},
          {"particles", jsonObject({{"fluid", std::to_string(p.nFluid)},
                                    {"wall", std::to_string(p.nTotal - p.nFluid)},
                                    {"total", std::to_string(p.nTotal)}})},
          {"parameters", jsonObject({{"particles", std::to_string(o.particles)},
                                     {"steps", std::to_string(o.steps)},
                                     {"outputEvery", std::to_string(o.outputEvery)},
                                     {"format", jsonString(o.format)}})},
          {"numerics", jsonObject({{"kernel", jsonString("wendland-c2")},
                                   {"dx", jsonNumber(p.dx)},
                                   {"h", jsonNumber(p.h)},
                                   {"dt", jsonNumber(p.dt)},
                                   {"c0", jsonNumber(p.c0)},
                                   {"rho0", jsonNumber(p.rho0)},
                                   {"gravity", jsonNumber(p.gravity)},
                                   {"alpha", jsonNumber(p.alpha)},
                                   {"delta", jsonNumber(p.delta)},
                                   {"particleMass", jsonNumber(p.mass)}})},
          {"geometry", jsonObject({{"columnWidth", jsonNumber(g.columnWidth)},
                                   {"columnHeight", jsonNumber(g.columnHeight)},
                                   {"tankWidth", jsonNumber(g.tankWidth)},
                                   {"wallTop", jsonNumber(g.wallTop)}})},
          {"stepsDone", std::to_string(stepsDone)},
          {"simulatedTime", jsonNumber(b.time)},
          {"dimensionlessTime", jsonNumber(b.time * std::sqrt(2.0 * p.gravity / g.columnWidth))},
          {"timing", jsonObject({{"totalMs", jsonNumber(totalMs)},
                                 {"stepsMs", jsonNumber(stepsMs)},
                                 {"msPerStep", jsonNumber(stepsDone > 0 ? stepsMs / stepsDone : 0.0)}})},
          {"mass", jsonObject({{"initial", jsonNumber(a.fluidInside * p.mass)},
                               {"final", jsonNumber(b.fluidInside * p.mass)}})},
          {"energy", jsonObject({{"initial", energy(a)}, {"final", energy(b)}})},
          {"finite", b.finite ? "true" : "false"},
          {"frames", frameList},
      },
      "\n  ");
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr || std::fprintf(out, "%s\n", summary.c_str()) < 0 || std::fclose(out) != 0) std::exit(4);
}

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  Options o = parseOptions(argc, argv);
  SimParams p{};
  Geometry g{};
  HostState s;
  setUp(o, p, g, s);
  if (o.steps == 0) {
    const double endTime = kAutoEndT / std::sqrt(2.0 * p.gravity / g.columnWidth);
    o.steps = std::lround(std::ceil(endTime / p.dt));
  }
  const std::string framesDir = o.out + "/frames";
  mkdir(o.out.c_str(), 0755);
  mkdir(framesDir.c_str(), 0755);
  std::vector<FrameStats> frames;
  auto record = [&](long step) {
    FrameStats f = measure(s, p, g);
    f.step = step;
    f.time = step * p.dt;
    char name[64];
    std::snprintf(name, sizeof name, "frames/frame-%05zu.%s", frames.size(), o.format.c_str());
    f.file = name;
    if (!writeFrame(o.out + "/" + name, o.format, s, p)) {
      std::fprintf(stderr, "sph: cannot write %s/%s: %s\n", o.out.c_str(), name, std::strerror(errno));
      std::exit(4);
    }
    std::printf("step %ld/%ld  t=%.4f s  front=%.3f m  column=%.3f m  Ek=%.1f J/m\n", step, o.steps, f.time,
                f.front, f.columnHeight, f.kinetic);
    std::fflush(stdout);
    frames.push_back(f);
    return f.finite;
  };
  try {
    Backend backend(p, s);
    std::printf("sph: %d fluid + %d wall particles, dt=%.3g s, device %s (%s)\n", p.nFluid,
                p.nTotal - p.nFluid, p.dt, backend.deviceKind().c_str(), backend.deviceName().c_str());
    record(0);
    double stepsMs = 0;
    long step = 0;
    bool finite = true;
    while (finite && step < o.steps) {
      const auto t0 = std::chrono::steady_clock::now();
      const long until = std::min(o.steps, (step / o.outputEvery + 1) * o.outputEvery);
      for (; step < until; ++step) backend.step();
      backend.synchronize();
      stepsMs += msSince(t0);
      backend.download(s);
      finite = record(step);
    }
    writeSummary(o.out + "/summary.json", o, p, g, backend.deviceKind(), backend.deviceName(), frames,
                 msSince(started), stepsMs, step);
    if (!finite) {
      std::fprintf(stderr, "sph: the simulation blew up (non-finite values at step %ld)\n", step);
      return 5;
    }
  } catch (const std::exception& e) {
#ifdef __CUDACC__
    if (dynamic_cast<const NoCudaDevice*>(&e) != nullptr) {
      std::fprintf(stderr, "sph: this is the GPU build and no CUDA device can be used: %s\n", e.what());
      return 3;
    }
#endif
    std::fprintf(stderr, "sph: %s\n", e.what());
    return 1;
  }
  return 0;
}
