// The CPU backend of the sph executer: the physics of sph-physics.h in plain loops, one thread, with
// a stable counting sort for the cell list (the same order the GPU's stable sort gives).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "sph-physics.h"
#include "sph-state.h"

class Backend {
 public:
  Backend(const SimParams& p, const HostState& s)
      : p_(p), x_(s.x), y_(s.y), vx_(s.vx), vy_(s.vy), rho_(s.rho) {
    const size_t n = static_cast<size_t>(p.nTotal);
    const size_t cells = static_cast<size_t>(p.gridNx) * static_cast<size_t>(p.gridNy);
    drho_.assign(n, 0.0);
    ax_.assign(n, 0.0);
    ay_.assign(n, 0.0);
    cellOfParticle_.assign(n, 0);
    key_.assign(n, 0);
    order_.assign(n, 0);
    start_.assign(cells, -1);
    end_.assign(cells, 0);
    offset_.assign(cells + 1, 0);
  }

  std::string deviceKind() const { return "cpu"; }
  std::string deviceName() const { return cpuModelName(); }

  void step() {
    const ParticleArrays P = arrays();
    const CellArrays C = cells();
    buildCells(P, C);
    for (int i = 0; i < p_.nTotal; ++i) densityRateOf(i, P, C, p_);
    for (int i = 0; i < p_.nTotal; ++i) updateDensity(i, P, p_);
    for (int i = 0; i < p_.nFluid; ++i) accelerationOf(i, P, C, p_);
    for (int i = 0; i < p_.nFluid; ++i) updateMotion(i, P, p_);
  }

  void synchronize() {}

  void download(HostState& s) const {
    s.x = x_;
    s.y = y_;
    s.vx = vx_;
    s.vy = vy_;
    s.rho = rho_;
  }

 private:
  ParticleArrays arrays() {
    return ParticleArrays{x_.data(), y_.data(), vx_.data(), vy_.data(), rho_.data(),
                          drho_.data(), ax_.data(), ay_.data()};
  }
  CellArrays cells() { return CellArrays{key_.data(), order_.data(), start_.data(), end_.data()}; }

  void buildCells(ParticleArrays P, CellArrays C) {
    const int n = p_.nTotal;
    std::fill(offset_.begin(), offset_.end(), 0);
    for (int i = 0; i < n; ++i) {
      cellOfParticle_[i] = cellOf(i, P, p_);
      ++offset_[cellOfParticle_[i] + 1];
    }
    for (size_t c = 1; c < offset_.size(); ++c) offset_[c] += offset_[c - 1];
    for (int i = 0; i < n; ++i) {
      const int at = offset_[cellOfParticle_[i]]++;
      key_[at] = cellOfParticle_[i];
      order_[at] = i;
    }
    std::fill(start_.begin(), start_.end(), -1);
    for (int k = 0; k < n; ++k) markCellBounds(k, n, C);
  }

  SimParams p_;
  std::vector<double> x_, y_, vx_, vy_, rho_, drho_, ax_, ay_;
  std::vector<int> cellOfParticle_, key_, order_, start_, end_, offset_;
};
