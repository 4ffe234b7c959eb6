// 2D real FFTs through FFTW. Plans are created once per size and cached; FFTW planning is not
// thread-safe, so it happens under a lock, while executing a cached plan on new arrays is
// (FFTW's new-array execute), so transforms can run from TBB tasks concurrently.
#pragma once

#include <complex>
#include <vector>

namespace ionmap {

class RealFft2D {
 public:
  RealFft2D(int rows, int cols);
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int spectrumCols() const { return cols_ / 2 + 1; }  // Hermitian half along x
  // in: rows × cols (row-major); out: rows × spectrumCols().
  void forward(const double* in, std::complex<double>* out) const;
  // Unnormalised inverse: the result is N = rows·cols times the original.
  void inverse(const std::complex<double>* in, double* out) const;

 private:
  int rows_, cols_;
  void* forward_plan_;
  void* inverse_plan_;
};

}  // namespace ionmap
