// The "tdms" reader: every group of a TDMS file as a table (one column per channel, with its
// unit), the file's, groups' and channels' properties as metadata.
#pragma once

#include <memory>
#include <string>

#include "ionmap/io/reader.hpp"
#include "seccm/tdms.hpp"

namespace ionmap::seccm {

std::unique_ptr<Reader> makeTdmsReader();

// A channel's unit: its `unit_string` property (NI's convention), else a trailing "(unit)" or
// "[unit]" in its name ("Current1 (A)" → "A"), else "".
std::string channelUnit(const TdmsChannel& ch);
// The name without surrounding blanks and without a trailing "(unit)" or "[unit]".
std::string channelBaseName(const TdmsChannel& ch);

}  // namespace ionmap::seccm
