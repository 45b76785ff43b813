// The physics of the sph executer, shared word for word by the CPU build (g++) and the GPU build
// (nvcc): weakly compressible SPH in 2-D with a Wendland C2 kernel, the Tait equation of state,
// Monaghan's artificial viscosity, delta-SPH density diffusion and dynamic boundary particles
// (walls made of fixed particles whose density evolves like the fluid's, as in DualSPHysics).
//
// Every function here runs on one particle and reads only the previous state, so the order of
// floating-point operations is the same on both builds (see sph.cu for the build flags that keep
// it so: no FMA contraction, no fast-math).
#pragma once
#include <math.h>

#ifdef __CUDACC__
#define SPH_HD __host__ __device__
#else
#define SPH_HD
#endif

/** Constants of one run, computed once on the host. Particles [0, nFluid) are fluid, the rest wall. */
struct SimParams {
  int nFluid;
  int nTotal;
  double dx;          // initial particle spacing (m)
  double h;           // smoothing length (m); the kernel reaches 2h
  double mass;        // particle mass per unit depth (kg/m)
  double rho0;        // reference density (kg/m^3)
  double c0;          // numerical speed of sound (m/s)
  double tait;        // B of the Tait equation: rho0 c0^2 / 7
  double gravity;     // m/s^2, pointing down
  double alpha;       // artificial viscosity coefficient
  double delta;       // delta-SPH coefficient
  double dt;          // fixed time step (s)
  double eta2;        // 0.01 h^2, keeps 1/r^2 finite
  double kernelNorm;  // 7 / (4 pi h^2), the 2-D Wendland normalisation
  double gridX0, gridY0, cellSize;
  int gridNx, gridNy;
};

/** Particle state and per-step derivatives (structure of arrays, host or device memory). */
struct ParticleArrays {
  double *x, *y, *vx, *vy, *rho;
  double *drho, *ax, *ay;
};

/** A cell list: particle indices sorted by cell (stable, so ties keep index order) and cell bounds. */
struct CellArrays {
  int *key;    // cell of each sorted entry
  int *order;  // particle index of each sorted entry
  int *start;  // first sorted entry of each cell, -1 when empty
  int *end;    // one past the last sorted entry of each cell
};

SPH_HD inline int clampInt(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

SPH_HD inline int cellX(double x, const SimParams& p) {
  return clampInt((int)floor((x - p.gridX0) / p.cellSize), 0, p.gridNx - 1);
}

SPH_HD inline int cellY(double y, const SimParams& p) {
  return clampInt((int)floor((y - p.gridY0) / p.cellSize), 0, p.gridNy - 1);
}

/** Tait: p = B ((rho/rho0)^7 - 1), the power written out so both builds round alike. */
SPH_HD inline double pressureOf(double rho, const SimParams& p) {
  const double r = rho / p.rho0;
  const double r2 = r * r;
  const double r4 = r2 * r2;
  return p.tait * (r4 * r2 * r - 1.0);
}

/** grad W(r) = F(r) * (xi - xj); F = -5 alpha_d (1 - q/2)^3 / h^2 for the Wendland C2 kernel. */
SPH_HD inline double gradFactor(double r2, const SimParams& p) {
  const double q = sqrt(r2) / p.h;
  const double t = 1.0 - 0.5 * q;
  return -5.0 * p.kernelNorm * t * t * t / (p.h * p.h);
}

/** Calls visit(j, rx, ry, r2) for every particle j != i within 2h, cell by cell in a fixed order. */
template <class Visit>
SPH_HD inline void forEachNeighbour(int i, ParticleArrays P, CellArrays C, const SimParams& p, Visit& visit) {
  const double xi = P.x[i], yi = P.y[i];
  const double support2 = 4.0 * p.h * p.h;
  const int cx = cellX(xi, p), cy = cellY(yi, p);
  for (int gy = cy - 1; gy <= cy + 1; ++gy) {
    if (gy < 0 || gy >= p.gridNy) continue;
    for (int gx = cx - 1; gx <= cx + 1; ++gx) {
      if (gx < 0 || gx >= p.gridNx) continue;
      const int cell = gx + gy * p.gridNx;
      const int first = C.start[cell];
      if (first < 0) continue;
      const int last = C.end[cell];
      for (int k = first; k < last; ++k) {
        const int j = C.order[k];
        if (j == i) continue;
        const double rx = xi - P.x[j], ry = yi - P.y[j];
        const double r2 = rx * rx + ry * ry;
        if (r2 < support2 && r2 >= 1e-24) visit(j, rx, ry, r2);
      }
    }
  }
}

/** Continuity equation plus delta-SPH diffusion (fluid-fluid pairs only) for particle i. */
struct DensityRate {
  ParticleArrays P;
  const SimParams* p;
  double vxi, vyi, rhoi, sum;
  bool fluidI;
  SPH_HD void operator()(int j, double rx, double ry, double r2) {
    const double f = gradFactor(r2, *p);
    const double vdotr = (vxi - P.vx[j]) * rx + (vyi - P.vy[j]) * ry;
    sum += p->mass * vdotr * f;
    if (fluidI && j < p->nFluid) {
      const double rhoj = P.rho[j];
      sum += 2.0 * p->delta * p->h * p->c0 * (rhoi - rhoj) * f * r2 / (r2 + p->eta2) * (p->mass / rhoj);
    }
  }
};

/** Pressure gradient and artificial viscosity on fluid particle i. */
struct Acceleration {
  ParticleArrays P;
  const SimParams* p;
  double vxi, vyi, rhoi, pri, ax, ay;
  SPH_HD void operator()(int j, double rx, double ry, double r2) {
    const double f = gradFactor(r2, *p);
    const double rhoj = P.rho[j];
    const double vdotr = (vxi - P.vx[j]) * rx + (vyi - P.vy[j]) * ry;
    double visc = 0.0;
    if (vdotr < 0.0) {
      const double mu = p->h * vdotr / (r2 + p->eta2);
      visc = -p->alpha * p->c0 * mu / (0.5 * (rhoi + rhoj));
    }
    const double fac = -p->mass * (pri + pressureOf(rhoj, *p) / (rhoj * rhoj) + visc) * f;
    ax += fac * rx;
    ay += fac * ry;
  }
};

/** Step 1 of a time step: the density rate of particle i (fluid or wall) from the current state. */
SPH_HD inline void densityRateOf(int i, ParticleArrays P, CellArrays C, const SimParams& p) {
  DensityRate visit{P, &p, P.vx[i], P.vy[i], P.rho[i], 0.0, i < p.nFluid};
  forEachNeighbour(i, P, C, p, visit);
  P.drho[i] = visit.sum;
}

/** Step 2: the new density; a wall's never drops below rho0, so a wall never pulls the fluid in. */
SPH_HD inline void updateDensity(int i, ParticleArrays P, const SimParams& p) {
  const double rho = P.rho[i] + p.dt * P.drho[i];
  P.rho[i] = i >= p.nFluid && rho < p.rho0 ? p.rho0 : rho;
}

/** Step 3: the acceleration of fluid particle i, with the new densities (walls do not move). */
SPH_HD inline void accelerationOf(int i, ParticleArrays P, CellArrays C, const SimParams& p) {
  if (i >= p.nFluid) return;
  const double rhoi = P.rho[i];
  Acceleration visit{P, &p, P.vx[i], P.vy[i], rhoi, pressureOf(rhoi, p) / (rhoi * rhoi), 0.0, 0.0};
  forEachNeighbour(i, P, C, p, visit);
  P.ax[i] = visit.ax;
  P.ay[i] = visit.ay - p.gravity;
}

/**
 * Step 4: velocity, then position with the new velocity. With density updated first and forces
 * taken from the new density, every pair (density, velocity) and (velocity, position) is advanced
 * by symplectic Euler, which keeps sound waves bounded; updating density and velocity from the same
 * old state (forward Euler on the acoustic pair) lets them grow until a fine run blows up.
 */
SPH_HD inline void updateMotion(int i, ParticleArrays P, const SimParams& p) {
  if (i >= p.nFluid) return;
  P.vx[i] += p.dt * P.ax[i];
  P.vy[i] += p.dt * P.ay[i];
  P.x[i] += p.dt * P.vx[i];
  P.y[i] += p.dt * P.vy[i];
}

/** The cell of a particle as a flat index. */
SPH_HD inline int cellOf(int i, ParticleArrays P, const SimParams& p) {
  return cellX(P.x[i], p) + cellY(P.y[i], p) * p.gridNx;
}

/** After sorting: mark where each non-empty cell starts and ends in the sorted order. */
SPH_HD inline void markCellBounds(int k, int n, CellArrays C) {
  const int c = C.key[k];
  if (k == 0 || C.key[k - 1] != c) C.start[c] = k;
  if (k == n - 1 || C.key[k + 1] != c) C.end[c] = k + 1;
}
