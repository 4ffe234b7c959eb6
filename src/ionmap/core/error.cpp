#include "ionmap/core/error.hpp"

namespace ionmap {

InputError::InputError(const std::string& file, const std::string& what)
    : Error(ErrorKind::kInput, "file '" + file + "': " + what) {}

InputError::InputError(const std::string& file, std::uint64_t offset, const std::string& what)
    : Error(ErrorKind::kInput,
            "file '" + file + "', byte offset " + std::to_string(offset) + ": " + what) {}

}  // namespace ionmap
