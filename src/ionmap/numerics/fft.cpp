#include "ionmap/numerics/fft.hpp"

#include <fftw3.h>

#include <map>
#include <mutex>
#include <utility>

#include "ionmap/core/error.hpp"

namespace ionmap {
namespace {

std::mutex& planMutex() {
  static std::mutex m;
  return m;
}

struct Plans {
  fftw_plan forward = nullptr;
  fftw_plan inverse = nullptr;
};

// Plans live for the whole process (one pair per image size).
Plans& plansFor(int rows, int cols) {
  static std::map<std::pair<int, int>, Plans> cache;
  std::lock_guard<std::mutex> lock(planMutex());
  Plans& p = cache[{rows, cols}];
  if (!p.forward) {
    const std::size_t n = static_cast<std::size_t>(rows) * cols;
    const std::size_t m = static_cast<std::size_t>(rows) * (cols / 2 + 1);
    double* real = fftw_alloc_real(n);
    fftw_complex* cplx = fftw_alloc_complex(m);
    // UNALIGNED: callers pass their own (std::vector) buffers to the new-array execute.
    p.forward = fftw_plan_dft_r2c_2d(rows, cols, real, cplx, FFTW_ESTIMATE | FFTW_UNALIGNED);
    p.inverse = fftw_plan_dft_c2r_2d(rows, cols, cplx, real, FFTW_ESTIMATE | FFTW_UNALIGNED);
    fftw_free(real);
    fftw_free(cplx);
    if (!p.forward || !p.inverse) throw ProcessingError("FFTW could not plan a transform");
  }
  return p;
}

}  // namespace

RealFft2D::RealFft2D(int rows, int cols) : rows_(rows), cols_(cols) {
  if (rows < 2 || cols < 2) throw ProcessingError("FFT needs at least 2 x 2 samples");
  Plans& p = plansFor(rows, cols);
  forward_plan_ = p.forward;
  inverse_plan_ = p.inverse;
}

void RealFft2D::forward(const double* in, std::complex<double>* out) const {
  // c2r destroys its input, r2c does not; FFTW's signature is non-const regardless.
  fftw_execute_dft_r2c(static_cast<fftw_plan>(forward_plan_), const_cast<double*>(in),
                       reinterpret_cast<fftw_complex*>(out));
}

void RealFft2D::inverse(const std::complex<double>* in, double* out) const {
  // The c2r transform overwrites its input: work on a copy.
  std::vector<std::complex<double>> tmp(in, in + static_cast<std::size_t>(rows_) * spectrumCols());
  fftw_execute_dft_c2r(static_cast<fftw_plan>(inverse_plan_),
                       reinterpret_cast<fftw_complex*>(tmp.data()), out);
}

}  // namespace ionmap
