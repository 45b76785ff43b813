// Output of the sph executer (host only): particle frames as CSV or legacy VTK, per-frame
// measurements (front, column height, energies, fluid volume) and the JSON summary.
#pragma once
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "sph-physics.h"
#include "sph-state.h"

/** The dam-break geometry: a column columnWidth x columnHeight at the left of a tank. */
struct Geometry {
  double columnWidth, columnHeight, tankWidth, wallTop;
};

struct FrameStats {
  long step = 0;
  double time = 0, front = 0, columnHeight = 0, kinetic = 0, potential = 0, volume = 0;
  double rhoMin = 0, rhoMax = 0;
  int fluidInside = 0, escaped = 0;
  bool finite = true;
  std::string file;
};

/** Measures the fluid: leading edge on the bed, height at the left wall, energies, volume. */
inline FrameStats measure(const HostState& s, const SimParams& p, const Geometry& g) {
  FrameStats f;
  f.rhoMin = INFINITY;
  f.rhoMax = -INFINITY;
  for (int i = 0; i < p.nFluid; ++i) {
    const double x = s.x[i], y = s.y[i], rho = s.rho[i];
    if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(rho)) f.finite = false;
    if (y <= 3.0 * p.dx && x > f.front) f.front = x;
    if (x <= 2.0 * p.dx && y > f.columnHeight) f.columnHeight = y;
    f.kinetic += 0.5 * p.mass * (s.vx[i] * s.vx[i] + s.vy[i] * s.vy[i]);
    f.potential += p.mass * p.gravity * y;
    f.volume += p.mass / rho;
    if (rho < f.rhoMin) f.rhoMin = rho;
    if (rho > f.rhoMax) f.rhoMax = rho;
    const bool inside = x >= 0.0 && x <= g.tankWidth && y >= 0.0 && y <= g.wallTop;
    if (inside) ++f.fluidInside;
    else ++f.escaped;
  }
  return f;
}

/** Writes one frame; false when the file cannot be written. */
inline bool writeFrame(const std::string& path, const std::string& format, const HostState& s,
                       const SimParams& p) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return false;
  const int n = p.nTotal;
  if (format == "vtk") {
    std::fprintf(out, "# vtk DataFile Version 3.0\ngpufleet sph dam break\nASCII\nDATASET POLYDATA\n");
    std::fprintf(out, "POINTS %d double\n", n);
    for (int i = 0; i < n; ++i) std::fprintf(out, "%.10g %.10g 0\n", s.x[i], s.y[i]);
    std::fprintf(out, "VERTICES %d %d\n", n, 2 * n);
    for (int i = 0; i < n; ++i) std::fprintf(out, "1 %d\n", i);
    std::fprintf(out, "POINT_DATA %d\nSCALARS type int 1\nLOOKUP_TABLE default\n", n);
    for (int i = 0; i < n; ++i) std::fprintf(out, "%d\n", i < p.nFluid ? 0 : 1);
    std::fprintf(out, "SCALARS density double 1\nLOOKUP_TABLE default\n");
    for (int i = 0; i < n; ++i) std::fprintf(out, "%.10g\n", s.rho[i]);
    std::fprintf(out, "SCALARS pressure double 1\nLOOKUP_TABLE default\n");
    for (int i = 0; i < n; ++i) std::fprintf(out, "%.10g\n", pressureOf(s.rho[i], p));
    std::fprintf(out, "VECTORS velocity double\n");
    for (int i = 0; i < n; ++i) std::fprintf(out, "%.10g %.10g 0\n", s.vx[i], s.vy[i]);
  } else {
    std::fprintf(out, "id,type,x,y,vx,vy,rho,p\n");
    for (int i = 0; i < n; ++i) {
      std::fprintf(out, "%d,%s,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", i, i < p.nFluid ? "fluid" : "wall",
                   s.x[i], s.y[i], s.vx[i], s.vy[i], s.rho[i], pressureOf(s.rho[i], p));
    }
  }
  return std::fclose(out) == 0;
}

inline std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

/** A finite number as JSON (non-finite values become null, which the summary then flags). */
inline std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

/** A JSON object from fields whose values are JSON text already; `indent` goes before each field. */
inline std::string jsonObject(std::initializer_list<std::pair<const char*, std::string>> fields,
                              const char* indent = "") {
  std::string out = "{";
  bool first = true;
  for (const auto& field : fields) {
    out += (first ? "" : ",") + std::string(indent[0] != '\0' ? indent : (first ? "" : " "));
    out += jsonString(field.first) + ": " + field.second;
    first = false;
  }
  return out + (indent[0] != '\0' ? "\n}" : "}");
}

inline std::string frameJson(const FrameStats& f) {
  return jsonObject({{"file", jsonString(f.file)},
                     {"step", std::to_string(f.step)},
                     {"time", jsonNumber(f.time)},
                     {"front", jsonNumber(f.front)},
                     {"columnHeight", jsonNumber(f.columnHeight)},
                     {"kinetic", jsonNumber(f.kinetic)},
                     {"potential", jsonNumber(f.potential)},
                     {"volume", jsonNumber(f.volume)},
                     {"rhoMin", jsonNumber(f.rhoMin)},
                     {"rhoMax", jsonNumber(f.rhoMax)},
                     {"fluidInside", std::to_string(f.fluidInside)},
                     {"escaped", std::to_string(f.escaped)}});
}
