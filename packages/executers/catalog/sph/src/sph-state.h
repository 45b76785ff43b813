// Host-side state of the sph executer: the particle arrays both backends start from and hand back,
// and the CPU's model name for the summary.
#pragma once
#include <fstream>
#include <string>
#include <vector>

struct HostState {
  std::vector<double> x, y, vx, vy, rho;
};

/** "model name" from /proc/cpuinfo, or "unknown CPU". */
inline std::string cpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown CPU";
}
