#include "ionmap/core/error.hpp"

namespace ionmap {

InputError::InputError(const std::string& file, const std::string& what)
    : Error(ErrorKind::kInput, "file '" + file + "': " + what), file_(file) {}

InputError::InputError(const std::string& file, std::uint64_t offset, const std::string& what)
    : Error(ErrorKind::kInput,
            "file '" + file + "', byte offset " + std::to_string(offset) + ": " + what),
      file_(file),
      offset_(offset),
      has_offset_(true) {}

void Error::rethrowIn(const std::string& context) const {
  throw Error(*this, context);
}
void UsageError::rethrowIn(const std::string& context) const {
  throw UsageError(*this, context);
}
void InputError::rethrowIn(const std::string& context) const {
  throw InputError(*this, context);
}
void ProcessingError::rethrowIn(const std::string& context) const {
  throw ProcessingError(*this, context);
}

}  // namespace ionmap
