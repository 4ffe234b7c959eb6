// The observation model's geometry: how the pixels of a map see the model cells under them
// (labels on a grid n times finer per side), and the label maps the fit derives from the
// microscope's: on the map's own grid, smoothed, moved by a cell; the variance a boundary's
// uncertain position adds to a pixel's mean.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "diffusion/model.hpp"

namespace ionmap::diffusion {

// The label covering most of each n × n block of `fine` (ties to the smaller label): labels on a
// grid n times coarser per side.
Image<std::int32_t> majorityLabels(const Image<std::int32_t>& fine, int n);

// `passes` of a 3 × 3 majority (mode) filter: each cell takes the most frequent label of its
// neighbourhood (its own on a tie; the border repeats). Removes pixel-scale bumps from
// segmented boundaries; `changed` (optional) counts the cells relabelled.
Image<std::int32_t> smoothLabels(const Image<std::int32_t>& labels, int passes,
                                 std::size_t* changed = nullptr);

// A Gaussian blur of standard deviation `sigma_cells` (cells) over a w × h grid of values, in
// place, the grid's edges mirrored: what a model on drawn labels predicts on average when each
// boundary really lies where drawn ± that error (the step's expected profile across it). Its
// variance per axis is σ²: exactly up to σ = 0.8 cells (a three-tap kernel [a, 1 − 2a, a],
// a = σ²/2), within 0.1 % beyond (a sampled Gaussian). No-op for σ ≤ 0.
void blurCells(std::vector<double>& v, int w, int h, double sigma_cells);

// Means over s × s blocks of a (w·s) × (h·s) grid of values: the w × h map pixels' view of the
// model cells under them.
std::vector<double> blockMean(const std::vector<double>& fine, int w, int h, int s);

// The map pixels' view of a model on cells s times finer: blurCells by `blur_cells`, then
// blockMean.
std::vector<double> observe(std::vector<double> fine, int w, int h, int s, double blur_cells);

// Per map pixel (labels s times finer than the map), the variance of its mean from the positions
// of the boundaries inside it: Σ over faces between cells of different grains of
// |f_a − f_b|·(the face's true length: h × its staircase factor), a face on a pixel edge
// counting half for each pixel, times σ_pos / (pixel area), squared. `fine`: f on the cells.
Image<double> boundaryPositionVariance(const Domain& d, int s, const Image<double>& fine,
                                       double sigma_um);

// The same domain on a grid twice as fine: every cell split 2 × 2 (labels, source region), the
// cell size halved, each boundary face's staircase factor kept on the two faces it becomes
// (the faces inside a former cell lie within one grain), each source-edge factor on its two
// cells. The boundaries are where they were; only the model's discretisation is finer.
Domain splitCells(const Domain& d);

// The label map moved by (dx, dy) cells (the cells uncovered at the edges repeat the border):
// the boundaries as a registration a cell off would put them.
Image<std::int32_t> shiftLabels(const Image<std::int32_t>& labels, int dx, int dy);

// A measured fraction from a model one: `counts` Li counts per pixel drawn binomially (seeded),
// with the binomial σ of the measured value, as the ToF-SIMS stage estimates it (at least one
// count's worth, so that pixels with 0 or all counts keep a finite weight). counts = 0: the
// model values unchanged, σ = 0.
struct CountedFraction {
  Image<double> fraction, sigma;
};
CountedFraction drawCounts(const Image<double>& model, long long counts, std::uint64_t seed);

}  // namespace ionmap::diffusion
