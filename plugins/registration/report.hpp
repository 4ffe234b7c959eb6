// What the `register` stage reports about a registration, as plain functions: the verdict of
// its checks, the quality table, the landmark residuals and the notes for the log.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/table.hpp"
#include "registration/landmarks.hpp"
#include "registration/register.hpp"

namespace ionmap::registration {

struct RegistrationChecks {
  double min_ncc = 0.2;             // below: the match is poor
  double min_tile_agreement = 0.6;  // below (with ≥ 4 tiles): the transform is most likely wrong
};

struct RegistrationVerdict {
  bool good = true;
  std::vector<std::string> problems;  // one sentence each
  // "not fit for use: <problems>; <what to check>" (empty when good).
  std::string message(bool valleys_preprocessing) const;
};

RegistrationVerdict judgeRegistration(const RegisterResult& r, const RegistrationChecks& checks);

// The tile check's uncertainty of the transform (µm), NaN unless at least two tiles agree.
double registrationUncertaintyUm(const RegisterResult& r);

// The quality table (quantity, value, unit): the landmark fit's rows first when there is one,
// then NCC, mutual information, overlap, the tile check, the uncertainty and the verdict.
Table registrationReport(const RegisterResult& r, const LandmarkFit* landmarks,
                         const RegistrationVerdict& verdict);

// Each landmark pair with its residual (µm) and outlier flag.
Table landmarkTable(const std::vector<Point2>& fixed, const std::vector<Point2>& moving,
                    const LandmarkFit& fit);

// Key/value notes for the stage's log: transform, working grid, tiles, per-tile shifts.
std::vector<std::pair<std::string, std::string>> registrationNotes(const RegisterResult& r);

}  // namespace ionmap::registration
