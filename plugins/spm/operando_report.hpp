// Tables, notes, warnings and plots of an operando series (kpfm-operando), as plain functions.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ionmap/core/table.hpp"
#include "registration/drift.hpp"
#include "spm/operando.hpp"

namespace ionmap::spm {

// label, pixels, first and last potential, change ± se, z, slope ± se, responding (1/0),
// lithium change ± se (relative; NaN without lithium maps).
Table responseTable(const OperandoResult& r, const std::string& unit);
Table driftTable(const std::vector<registration::FrameShift>& shifts);
std::vector<std::pair<std::string, std::string>> operandoNotes(const OperandoResult& r,
                                                               const OperandoOptions& o);
// Frames that matched frame 0 weakly (their drift, and every change measured on them, is
// doubtful).
std::vector<std::string> operandoWarnings(const std::vector<registration::FrameShift>& shifts);
// Per phase: particles, responding (fraction and Wilson interval), mean ± se and median change,
// mean lithium change.
Table phaseTable(const std::vector<PhaseSummary>& phases, const std::string& unit);
// <prefix>-changes.png: every particle's potential change with its error, sorted, by class;
// <prefix>-traces.png: every particle's potential against SOC, relative to its first state;
// <prefix>-dv-dli.png (with lithium maps): potential change against lithium change by class.
void writeOperandoPlots(const OperandoResult& r, const std::vector<double>& soc,
                        const std::string& unit, const std::filesystem::path& prefix);

}  // namespace ionmap::spm
