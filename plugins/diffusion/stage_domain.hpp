// What the diffusion stages share: the choices of source and model, their help texts, and the
// model Domain a stage builds from its label map and its bound settings.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "diffusion/model.hpp"
#include "ionmap/core/map.hpp"
#include "ionmap/pipeline/stage.hpp"

namespace ionmap::diffusion {

// Where the 6Li comes from: an edge of the map, or a region given as a label map.
enum class SourceEdge { kLeft, kRight, kTop, kBottom, kRegion };
extern const std::vector<std::pair<std::string, SourceEdge>> kEdges;
std::string nameOf(SourceEdge e);

// The forward model a stage uses.
enum class ModelChoice { kMicrostructure, kNetwork, kSeries };
extern const std::vector<std::pair<std::string, ModelChoice>> kModels;
std::string nameOf(ModelChoice m);

inline constexpr const char* kReservoirHelp =
    "finite source: a well-mixed reservoir holding as much Li as a layer of the sample this "
    "thick along the source boundary, whose 6Li fraction falls from f_source as tracer enters; "
    "0 = unlimited source (constant f_source)";
inline constexpr const char* kStaircaseHelp =
    "scale kappa on each boundary face by 1/(|n_x| + |n_y|) of the boundary's local normal, so "
    "that inclined boundaries drawn as pixel staircases pass kappa times their true length "
    "(without it, kappa of boundaries at 45 deg comes out up to 1/sqrt(2) low); microstructure "
    "model only: the series model's boundaries lie across its 1D profile";
inline constexpr const char* kWedgeHelp =
    "with staircase_correction: where a grain reaches the source edge as a wedge one or two "
    "cells wide between two others, give it the contact its boundaries extrapolate to at the "
    "edge (none when they meet inside the sample). For exact labels (simulated, EBSD): a "
    "junction drawn on the edge otherwise fills a whole grain from the source. Off by default: "
    "segmented labels often draw the edge imperfectly, and grains that do touch the source "
    "then look like wedges";
inline constexpr const char* kEdgeHelp =
    "edge of the map in contact with the 6Li source, or `region`: the pixels labelled > 0 in the "
    "`source` input (e.g. a contact area), held at f_source";

// Pixels with label 0 (unassigned, e.g. drawn boundary lines) join the nearest grain
// (breadth-first from the labelled pixels), so that the model sees only grains; the boundary
// resistance sits on the faces between grains. Returns how many pixels were reassigned.
// Throws ProcessingError when no pixel is labelled.
std::size_t absorbUnlabelled(Image<std::int32_t>& labels);

// source_edge: region needs the `source` port, and the port means nothing without it.
void preflightSource(Preflight& pf, SourceEdge edge);

// The model domain on `labels`: the stage's bound settings (`settings`: time, steps, reservoir,
// wedge contacts) with the labels' grid, the source edge or the `source` input as the region,
// and the staircase factors (noted in the results) when `staircase`. `drawn`: the labels before
// smoothing, where wedges at the source edge are measured. Throws ProcessingError for labels
// the model cannot use (no pixel size, non-square pixels, a source region on another grid).
Domain domainFor(RunContext& ctx, const LabelMap& labels, const Domain& settings, SourceEdge edge,
                 bool staircase, const Image<std::int32_t>* drawn = nullptr);

}  // namespace ionmap::diffusion
