// The GPU backend of the sph executer: the physics of sph-physics.h as CUDA kernels, one thread per
// particle, with thrust's stable sort for the cell list (ties keep index order, as on the CPU).
// Uses the first GPU the process can see (the tracker sets CUDA_VISIBLE_DEVICES to the task's GPUs).
#pragma once
#include <cuda_runtime.h>
#include <thrust/execution_policy.h>
#include <thrust/sort.h>

#include <stdexcept>
#include <string>

#include "sph-physics.h"
#include "sph-state.h"

/** Thrown when the process sees no usable CUDA device; main exits with code 3. */
struct NoCudaDevice : std::runtime_error {
  using std::runtime_error::runtime_error;
};

static void cudaCheck(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

__global__ void cellsKernel(int n, ParticleArrays P, CellArrays C, SimParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  C.key[i] = cellOf(i, P, p);
  C.order[i] = i;
}

__global__ void boundsKernel(int n, CellArrays C) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n) markCellBounds(k, n, C);
}

__global__ void densityRateKernel(int n, ParticleArrays P, CellArrays C, SimParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) densityRateOf(i, P, C, p);
}

__global__ void updateDensityKernel(int n, ParticleArrays P, SimParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) updateDensity(i, P, p);
}

__global__ void accelerationKernel(int n, ParticleArrays P, CellArrays C, SimParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) accelerationOf(i, P, C, p);
}

__global__ void updateMotionKernel(int n, ParticleArrays P, SimParams p) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) updateMotion(i, P, p);
}

class Backend {
 public:
  Backend(const SimParams& p, const HostState& s) : p_(p) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) throw NoCudaDevice(cudaGetErrorString(status));
    if (count == 0) throw NoCudaDevice("no CUDA device is visible");
    cudaCheck(cudaSetDevice(0), "cudaSetDevice");
    cudaDeviceProp prop;
    cudaCheck(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    name_ = std::string(prop.name) + " (compute " + std::to_string(prop.major) + "." +
            std::to_string(prop.minor) + ")";
    const size_t n = static_cast<size_t>(p.nTotal);
    cells_ = static_cast<size_t>(p.gridNx) * static_cast<size_t>(p.gridNy);
    double** doubles[] = {&P_.x, &P_.y, &P_.vx, &P_.vy, &P_.rho, &P_.drho, &P_.ax, &P_.ay};
    for (double** d : doubles) cudaCheck(cudaMalloc(d, n * sizeof(double)), "cudaMalloc");
    cudaCheck(cudaMalloc(&C_.key, n * sizeof(int)), "cudaMalloc");
    cudaCheck(cudaMalloc(&C_.order, n * sizeof(int)), "cudaMalloc");
    cudaCheck(cudaMalloc(&C_.start, cells_ * sizeof(int)), "cudaMalloc");
    cudaCheck(cudaMalloc(&C_.end, cells_ * sizeof(int)), "cudaMalloc");
    upload(P_.x, s.x);
    upload(P_.y, s.y);
    upload(P_.vx, s.vx);
    upload(P_.vy, s.vy);
    upload(P_.rho, s.rho);
  }

  ~Backend() {
    void* all[] = {P_.x,  P_.y,  P_.vx,  P_.vy,    P_.rho,   P_.drho,
                   P_.ax, P_.ay, C_.key, C_.order, C_.start, C_.end};
    for (void* d : all) cudaFree(d);
  }

  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  std::string deviceKind() const { return "cuda"; }
  std::string deviceName() const { return name_; }

  void step() {
    const int n = p_.nTotal;
    const int threads = 128;
    const int blocks = (n + threads - 1) / threads;
    const int fluidBlocks = (p_.nFluid + threads - 1) / threads;
    cellsKernel<<<blocks, threads>>>(n, P_, C_, p_);
    thrust::stable_sort_by_key(thrust::device, C_.key, C_.key + n, C_.order);
    cudaCheck(cudaMemset(C_.start, 0xff, cells_ * sizeof(int)), "cudaMemset");
    boundsKernel<<<blocks, threads>>>(n, C_);
    densityRateKernel<<<blocks, threads>>>(n, P_, C_, p_);
    updateDensityKernel<<<blocks, threads>>>(n, P_, p_);
    accelerationKernel<<<fluidBlocks, threads>>>(p_.nFluid, P_, C_, p_);
    updateMotionKernel<<<fluidBlocks, threads>>>(p_.nFluid, P_, p_);
    cudaCheck(cudaGetLastError(), "kernel launch");
  }

  void synchronize() { cudaCheck(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

  void download(HostState& s) const {
    download(P_.x, s.x);
    download(P_.y, s.y);
    download(P_.vx, s.vx);
    download(P_.vy, s.vy);
    download(P_.rho, s.rho);
  }

 private:
  void upload(double* device, const std::vector<double>& host) {
    cudaCheck(cudaMemcpy(device, host.data(), host.size() * sizeof(double), cudaMemcpyHostToDevice),
              "cudaMemcpy to device");
  }
  void download(const double* device, std::vector<double>& host) const {
    host.resize(static_cast<size_t>(p_.nTotal));
    cudaCheck(cudaMemcpy(host.data(), device, host.size() * sizeof(double), cudaMemcpyDeviceToHost),
              "cudaMemcpy to host");
  }

  SimParams p_;
  ParticleArrays P_{};
  CellArrays C_{};
  size_t cells_ = 0;
  std::string name_;
};
