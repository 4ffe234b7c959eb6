#include "ionmap/pipeline/workspace.hpp"

#include <algorithm>

#include "ionmap/core/error.hpp"

namespace ionmap {

const char* itemKindName(ItemKind k) {
  switch (k) {
    case ItemKind::kMap:
      return "map";
    case ItemKind::kLabelMap:
      return "label map";
    case ItemKind::kSpectrumImage:
      return "spectrum image";
    case ItemKind::kCurveSet:
      return "curve set";
    case ItemKind::kTable:
      return "table";
    case ItemKind::kTransform:
      return "transform";
    case ItemKind::kOrientationMap:
      return "orientation map";
  }
  return "?";
}

void Workspace::put(const std::string& name, Item item, const std::string& written_by) {
  if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
  items_[name] = Entry{std::make_shared<const Item>(std::move(item)), written_by};
}

const Workspace::Entry& Workspace::entries(const std::string& name) const {
  auto it = items_.find(name);
  if (it == items_.end()) throw ProcessingError("workspace has no item '" + name + "'");
  return it->second;
}

ProcessingError Workspace::wrongKind(const std::string& name, ItemKind wanted) const {
  return ProcessingError("workspace item '" + name + "' is a " + itemKindName(kind(name)) +
                         ", expected a " + itemKindName(wanted));
}

}  // namespace ionmap
